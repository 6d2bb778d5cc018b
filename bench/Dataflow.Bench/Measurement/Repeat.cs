namespace Dataflow.Bench.Measurement;

/// <summary>Runs ours and the baseline alternately, so that machine noise hits both alike, and keeps the median of each.</summary>
internal static class Repeat
{
    public static async Task<(double Ours, double Baseline)> MedianAsync(int repetitions, Func<Task<double>> ours, Func<Task<double>> baseline)
    {
        var a = new List<double>();
        var b = new List<double>();
        for (var i = 0; i < repetitions; i++)
        {
            a.Add(await ours());
            b.Add(await baseline());
        }

        return (Median(a), Median(b));
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
