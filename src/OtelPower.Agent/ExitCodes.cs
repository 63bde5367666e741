namespace OtelPower.Agent;

internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failed = 1;

    /// <summary>A bad command line, configuration value or input path.</summary>
    public const int BadInput = 2;
}
