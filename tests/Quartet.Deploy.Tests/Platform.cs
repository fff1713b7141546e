// The deployment is Linux's: Docker's engine, signals, file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
