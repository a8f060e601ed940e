using System.Reflection;
using System.Runtime.CompilerServices;

using ExpRunner.Nn;

namespace ExpRunner.Training;

/// <summary>
/// Compiles the numeric code (kernels, element-wise passes, network, losses, activations, batch
/// filling, training and evaluation loops) for one element type on a background thread, so that
/// the just-in-time compiler works while the caller loads its dataset instead of during the first
/// batches. Measured: a single evaluation pass of a small network spent most of its time compiling.
/// Nothing depends on it finishing: a method the caller reaches first is compiled there as usual.
/// </summary>
public static class Precompile
{
    private static readonly Type[] Roots =
    [
        typeof(Gemm), typeof(Elementwise), typeof(WorkerPool), typeof(Network<>), typeof(Activation<>), typeof(Loss<>),
        typeof(Data.Dataset), typeof(Training.Trainer<>), typeof(Training.Evaluator<>), typeof(Training.Optimizer<>), typeof(Training.SgdOptimizer<>), typeof(Training.AdamOptimizer<>),
        typeof(Training.RmspropOptimizer<>), typeof(Training.AdagradOptimizer<>),
    ];

    /// <summary>
    /// Starts compiling for float32 or float64 (the config's precision) in the background. Callers
    /// start it only with a core to spare (<see cref="ThreadBudget.SpareCore"/>).
    /// </summary>
    public static Task Start(string precision)
    {
        var t = precision == "float64" ? typeof(double) : typeof(float);
        return Task.Factory.StartNew(() => Run(t), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static void Run(Type element)
    {
        foreach (var root in Roots)
        {
            Prepare(Close(root, element), element);
            foreach (var nested in root.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
                Prepare(Close(nested, element), element);
        }
    }

    private static Type? Close(Type type, Type element)
    {
        if (!type.IsGenericTypeDefinition) return type;
        if (type.GetGenericArguments().Length != 1) return null;
        try { return type.MakeGenericType(element); }
        catch (ArgumentException) { return null; } // a constraint the element type does not meet
    }

    private static void Prepare(Type? type, Type element)
    {
        if (type is null || type.IsInterface) return;
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        foreach (var method in type.GetMethods(all))
        {
            if (method.IsAbstract) continue;
            var m = method;
            try
            {
                if (m.IsGenericMethodDefinition)
                {
                    if (m.GetGenericArguments().Length != 1) continue;
                    m = m.MakeGenericMethod(element);
                }
                RuntimeHelpers.PrepareMethod(m.MethodHandle);
            }
            catch (ArgumentException) { } // a constraint the element type does not meet
            catch (NotSupportedException) { }
        }
    }
}
