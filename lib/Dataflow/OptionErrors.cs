namespace Dataflow;

/// <summary>
/// Collects what is wrong with an options object, so that validation reports every problem at once, each naming
/// its property, in one <see cref="ArgumentException"/>.
/// </summary>
internal sealed class OptionErrors(string optionsName)
{
    private List<string>? _errors;

    /// <summary>Records <paramref name="problem"/> unless <paramref name="valid"/>.</summary>
    public OptionErrors Require(bool valid, string problem)
    {
        if (!valid)
        {
            (_errors ??= []).Add(problem);
        }

        return this;
    }

    /// <summary>Throws one exception listing every problem recorded, if any.</summary>
    /// <exception cref="ArgumentException">Something was recorded.</exception>
    public void ThrowIfAny(string paramName = "options")
    {
        if (_errors is null)
        {
            return;
        }

        var message = _errors.Count == 1
            ? $"Invalid {optionsName}: {_errors[0]}"
            : $"Invalid {optionsName} ({_errors.Count} problems): {string.Join(" ", _errors)}";
        throw new ArgumentException(message, paramName);
    }
}
