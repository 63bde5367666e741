using System.Globalization;

namespace OtelPower.Agent.Cli;

/// <summary>How an option's value must look before it reaches configuration.</summary>
internal enum OptionValueKind
{
    /// <summary>No value: present means true.</summary>
    Flag,
    Text,
    Path,

    /// <summary>A path that may be empty, to turn the thing it points at off.</summary>
    OptionalPath,
    Number,
    WholeNumber,
    List,
}

/// <summary>One command-line option: its spelling, the configuration key it sets, and its help text.</summary>
internal sealed record CommandLineOption(string Name, string ConfigurationKey, OptionValueKind Kind, string ValueName, string Help)
{
    public bool TakesValue => Kind != OptionValueKind.Flag;

    public bool TryCheckValue(string value, out string? error)
    {
        error = Kind switch
        {
            OptionValueKind.Number when !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) =>
                $"{Name} expects a number (e.g. 0.5), not '{value}'.",
            OptionValueKind.WholeNumber when !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) =>
                $"{Name} expects a whole number, not '{value}'.",
            OptionValueKind.Path or OptionValueKind.Text or OptionValueKind.List when string.IsNullOrWhiteSpace(value) =>
                $"{Name} expects a value.",
            _ => null,
        };
        return error is null;
    }
}
