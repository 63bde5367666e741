namespace OtelPower.Sensors.Redfish;

/// <summary>Where and how the Redfish platform reader polls a BMC. Credentials never come from the command line.</summary>
public sealed class RedfishOptions
{
    /// <summary>The BMC, <c>https://bmc.example</c>; <c>/redfish/v1</c> is appended unless present.</summary>
    public required Uri Url { get; init; }

    public string? User { get; init; }

    public string? Password { get; init; }

    /// <summary>A PEM file with the CA that signed the BMC's certificate (BMCs usually self-sign); null: the system's trust store.</summary>
    public string? CaFile { get; init; }

    /// <summary>Time between polls; BMCs refresh their readings every few seconds.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one request may take before the poll counts as failed.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The service root, <c>…/redfish/v1</c>, without a trailing slash.</summary>
    public Uri ServiceRoot
    {
        get
        {
            var text = Url.ToString().TrimEnd('/');
            return new Uri(text.EndsWith("/redfish/v1", StringComparison.Ordinal) ? text : text + "/redfish/v1");
        }
    }

    /// <summary>Reads <c>user:password</c> from a file (one line; the password may hold colons).</summary>
    public static (string User, string Password) ReadCredentials(string path)
    {
        var text = File.ReadAllText(path).Trim();
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new InvalidDataException($"{path} must hold user:password on one line.");
        }

        return (text[..colon], text[(colon + 1)..]);
    }
}
