namespace Router.Registry.Model;

/// <summary>A registry entry that was skipped, and why.</summary>
/// <param name="Service">The service name as found in the key (may itself be the problem).</param>
/// <param name="Key">The full etcd key at fault.</param>
/// <param name="Message">What is wrong, for an operator.</param>
public sealed record RegistryProblem(string Service, string Key, string Message);
