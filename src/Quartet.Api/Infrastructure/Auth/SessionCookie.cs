namespace Quartet.Api.Infrastructure.Auth;

/// <summary>
/// The session cookie: <c>__Host-quartet_session</c>, Secure, HttpOnly, SameSite=Lax, Path=/. Only in
/// Development over plain http does it relax to <c>quartet_session</c> without Secure, since browsers
/// refuse a __Host- cookie that is not Secure.
/// </summary>
internal static class SessionCookie
{
    public const string SecureName = "__Host-quartet_session";
    public const string RelaxedName = "quartet_session";

    public static string? Read(HttpContext context) =>
        context.Request.Cookies[SecureName] ?? (Relaxed(context) ? context.Request.Cookies[RelaxedName] : null);

    public static void Write(HttpContext context, string value) =>
        context.Response.Cookies.Append(Name(context), value, Options(context));

    public static void Delete(HttpContext context) => context.Response.Cookies.Delete(Name(context), Options(context));

    private static bool Relaxed(HttpContext context) =>
        !context.Request.IsHttps && context.RequestServices.GetRequiredService<IHostEnvironment>().IsDevelopment();

    private static string Name(HttpContext context) => Relaxed(context) ? RelaxedName : SecureName;

    private static CookieOptions Options(HttpContext context) => new()
    {
        HttpOnly = true,
        Secure = !Relaxed(context),
        SameSite = SameSiteMode.Lax,
        Path = "/",
        IsEssential = true,
    };
}
