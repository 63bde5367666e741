using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Parsing;
using System.Globalization;

namespace OtelPower.Agent.Cli;

/// <summary>How an option's value must look before it reaches configuration.</summary>
internal enum OptionValueKind
{
    /// <summary>No value: present means true (<c>--flag false</c> or <c>--flag=false</c> says false).</summary>
    Flag,
    Text,
    Path,

    /// <summary>A path that may be empty, to turn the thing it points at off.</summary>
    OptionalPath,
    Number,
    WholeNumber,
    List,
}

/// <summary>
/// One command-line option: its spelling, the configuration key it sets, and its help text; it makes the
/// System.CommandLine option that parses it. Values stay strings: configuration binding converts them, so a value
/// from the command line, appsettings.json or the environment meets the same rules.
/// </summary>
internal sealed record CommandLineOption(string Name, string ConfigurationKey, OptionValueKind Kind, string ValueName, string Help)
{
    /// <summary>Values the shell may complete the option's value with (for a list: each element).</summary>
    public IReadOnlyList<string> Completions { get; init; } = [];

    public bool TakesValue => Kind != OptionValueKind.Flag;

    /// <summary>
    /// The option for System.CommandLine. Every occurrence takes one token (<c>--exporter a b</c> leaves <c>b</c>
    /// unmatched); a repeated list option adds to the list, any other repeated option: the last one wins.
    /// </summary>
    public Option CreateOption()
    {
        if (Kind == OptionValueKind.Flag)
        {
            // A bool option takes a following token only if it is true or false. The parser is ours because
            // System.CommandLine's own cannot convert a repeated flag (it throws).
            return new Option<bool>(Name)
            {
                Description = Help,
                Arity = ArgumentArity.ZeroOrMore,
                CustomParser = ParseFlag,
            };
        }

        var option = new Option<string>(Name)
        {
            Description = Help,
            HelpName = ValueName,
            // Zero or more, not exactly one: then a following option is not taken for this one's value, and a
            // missing value is reported by the validator below, in the agent's words.
            Arity = ArgumentArity.ZeroOrMore,
            CustomParser = ParseValue,
        };
        option.Validators.Add(Validate);
        if (Completions.Count > 0)
        {
            option.CompletionSources.Add(Complete);
        }

        return option;
    }

    /// <summary>The configuration value the command line gave the option, or null when it was not given.</summary>
    public string? SettingOf(ParseResult result, Option option)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.GetResult(option) switch
        {
            null or { Implicit: true } => null,
            { } given when Kind == OptionValueKind.Flag => given.GetValueOrDefault<bool>() ? "true" : "false",
            { } given => given.GetValueOrDefault<string>(),
        };
    }

    public bool TryCheckValue(string value, out string? error)
    {
        error = Kind switch
        {
            // A token that looks like an option: the value was left out ("--procfs --frobnicate").
            _ when value.StartsWith("--", StringComparison.Ordinal) && value.Length > 2 => $"{Name} needs a value ({ValueName}).",
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

    private bool ParseFlag(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return true;
        }

        var value = result.Tokens[^1].Value;
        if (bool.TryParse(value, out var flag))
        {
            return flag;
        }

        // Only "--flag=word" gets here: a separate word after a flag is left unmatched.
        result.AddError($"{Name} is true or false, not '{value}'.");
        return false;
    }

    private string? ParseValue(ArgumentResult result)
    {
        var tokens = result.Tokens;
        return tokens.Count == 0 ? null
            : Kind == OptionValueKind.List ? string.Join(',', tokens.Select(token => token.Value))
            : tokens[^1].Value;
    }

    private void Validate(OptionResult result)
    {
        if (result.Tokens.Count < result.IdentifierTokenCount)
        {
            result.AddError($"{Name} needs a value ({ValueName}).");
            return;
        }

        foreach (var token in result.Tokens)
        {
            if (!TryCheckValue(token.Value, out var error))
            {
                result.AddError(error!);
                return;
            }
        }
    }

    private IEnumerable<CompletionItem> Complete(CompletionContext context)
    {
        // A list completes its last element: "console,j" offers "console,json".
        var word = context.WordToComplete;
        var comma = Kind == OptionValueKind.List ? word.LastIndexOf(',') + 1 : 0;
        var given = word[..comma].Split(',', StringSplitOptions.RemoveEmptyEntries);
        return Completions
            .Where(value => !given.Contains(value, StringComparer.Ordinal))
            .Select(value => new CompletionItem(word[..comma] + value));
    }
}
