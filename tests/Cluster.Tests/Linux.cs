using System.Runtime.Versioning;

// Network namespaces, veth pairs and bridges exist only on Linux; so does the box.
[assembly: SupportedOSPlatform("linux")]

// One box for the whole assembly: every test class shares it and runs one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
