// Process management here is Linux's: /proc, signals, setpriv, service accounts.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
