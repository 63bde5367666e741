using System.Net;
using System.Net.Sockets;

namespace OtelPower.Agent.Tests;

internal static class LoopbackPort
{
    /// <summary>
    /// A port free on 127.0.0.1 now (the OS picks it; the listener is closed before returning). Only for the
    /// agent's Prometheus exporter: OpenTelemetry's HttpListener exporter cannot bind port 0 nor say which
    /// port it got. The tests' own servers bind port 0 and report the port.
    /// </summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
