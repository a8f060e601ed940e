using Spectre.Console.Cli;

namespace ExpRunner.Cli;

/// <summary>
/// The smallest type registrar Spectre.Console.Cli needs: registered instances and types (several
/// per service, resolved one at a time or as IEnumerable&lt;T&gt;), and commands built through their
/// constructors (which take the <see cref="CliContext"/>).
/// </summary>
internal sealed class Registrar(CliContext context) : ITypeRegistrar
{
    private readonly Dictionary<Type, List<Func<Resolver, object?>>> _factories = new() { [typeof(CliContext)] = [_ => context] };

    private void Add(Type service, Func<Resolver, object?> factory)
    {
        if (!_factories.TryGetValue(service, out var list)) _factories[service] = list = [];
        list.Add(factory);
    }

    public void Register(Type service, Type implementation) => Add(service, r => r.Construct(implementation));
    public void RegisterInstance(Type service, object implementation) => Add(service, _ => implementation);
    public void RegisterLazy(Type service, Func<object> factory) => Add(service, _ => factory());
    public ITypeResolver Build() => new Resolver(_factories);

    internal sealed class Resolver(Dictionary<Type, List<Func<Resolver, object?>>> factories) : ITypeResolver
    {
        public object? Resolve(Type? type)
        {
            if (type is null) return null;
            if (factories.TryGetValue(type, out var list)) return list[^1](this);
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            {
                var element = type.GetGenericArguments()[0];
                var all = factories.TryGetValue(element, out var each) ? each.Select(f => f(this)).ToList() : [];
                var array = Array.CreateInstance(element, all.Count);
                for (int i = 0; i < all.Count; i++) array.SetValue(all[i], i);
                return array;
            }
            // Unregistered: commands and settings (ours), or anything with a parameterless constructor.
            bool ours = type.Assembly == typeof(Registrar).Assembly;
            return type.IsClass && !type.IsAbstract && (ours || type.GetConstructor(Type.EmptyTypes) is not null) ? Construct(type) : null;
        }

        /// <summary>The type built through its widest constructor whose parameters can all be resolved.</summary>
        public object? Construct(Type type)
        {
            foreach (var ctor in type.GetConstructors().OrderByDescending(c => c.GetParameters().Length))
            {
                var args = ctor.GetParameters().Select(p => Resolve(p.ParameterType)).ToArray();
                if (args.All(a => a is not null)) return ctor.Invoke(args);
            }
            return null;
        }
    }
}
