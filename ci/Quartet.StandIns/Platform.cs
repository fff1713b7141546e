// The stand-ins are made from this host's files and programs: debootstrap, modes, /proc/self/mounts.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
