namespace OtelPower.Sensors;

/// <summary>The sensors cannot start: a root path that is wrong, a file that is not what it should be.
/// The message names the file and the problem; the agent prints it and exits with code 2.</summary>
public sealed class SensorConfigurationException : Exception
{
    public SensorConfigurationException()
    {
    }

    public SensorConfigurationException(string message)
        : base(message)
    {
    }

    public SensorConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
