using System.Runtime.Versioning;

// systemd, its unit files and the images' Linux user exist only on Linux; so do these tests.
[assembly: SupportedOSPlatform("linux")]
