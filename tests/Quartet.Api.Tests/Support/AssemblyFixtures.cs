// One PostgreSQL and Redis for every test class of this assembly (Quartet.Testing.SharedStack).
[assembly: AssemblyFixture(typeof(Quartet.Testing.SharedStack))]
