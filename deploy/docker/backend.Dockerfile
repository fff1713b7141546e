# The backend image: one binary with several commands (serve by default; migrate, healthcheck,
# hash-password). Build from the repository root:
#   docker build -f deploy/docker/backend.Dockerfile -t quartet-backend .
# The base images are build arguments so CI can use local stand-ins; the defaults are the official images.
ARG DOTNET_SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG DOTNET_RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${DOTNET_SDK_IMAGE} AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
WORKDIR /src
# Packages are restored from the project and build settings alone, so that layer is reused until
# a package or a setting changes.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Quartet.Api/Quartet.Api.csproj src/Quartet.Api/
# For the build machine's runtime (linux-x64 or linux-arm64), so the code is precompiled (ReadyToRun).
RUN rid="linux-$(uname -m | sed -e s/x86_64/x64/ -e s/aarch64/arm64/)" \
 && echo "$rid" > /tmp/rid \
 && dotnet restore src/Quartet.Api/Quartet.Api.csproj -r "$rid" -p:PublishReadyToRun=true
# The migrations are embedded in the binary (see Quartet.Api.csproj), so the image needs no db/ folder.
COPY db/migrations/ db/migrations/
COPY src/Quartet.Api/ src/Quartet.Api/
RUN dotnet publish src/Quartet.Api/Quartet.Api.csproj -c Release -r "$(cat /tmp/rid)" -p:PublishReadyToRun=true \
      --nologo --disable-build-servers -p:UseAppHost=false -o /app

FROM ${DOTNET_RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /app ./
ENV ASPNETCORE_HTTP_PORTS=8080
# The official images' non-root user "app" (APP_UID), by number so the check needs no /etc/passwd.
USER 1654:1654
EXPOSE 8080
# The runtime image has no curl: the binary's own healthcheck command asks /health/ready on the local port.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["dotnet", "/app/Quartet.Api.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "/app/Quartet.Api.dll"]
CMD ["serve"]
# What the operator calls this build (QUARTET_VERSION, e.g. a git tag); last, so a new one costs no layer.
ARG QUARTET_VERSION=dev
LABEL org.opencontainers.image.version=${QUARTET_VERSION}
