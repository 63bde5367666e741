using OtelPower.Agent.Exporters;

namespace OtelPower.Agent.Tests;

public sealed class ConsoleViewWriterTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("two\nlines", "two?lines")]
    [InlineData("\u001b[2Jwipe", "?[2Jwipe")]
    [InlineData("a-very-long-process-name-indeed", "a-very-long-process-")]
    public void Process_names_cannot_break_the_view(string name, string shown) =>
        Assert.Equal(shown, ConsoleViewWriter.Printable(name, 20));
}
