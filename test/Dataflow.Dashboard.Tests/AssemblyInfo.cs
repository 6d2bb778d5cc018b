global using NUnit.Framework;

[assembly: Parallelizable(ParallelScope.Fixtures)]
