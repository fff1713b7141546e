# PostgreSQL with pgBackRest, and the backup tool beside it (decision 0021). Build from the repository root:
#   docker build -f deploy/docker/postgres.Dockerfile --target postgres -t quartet-postgres .
#   docker build -f deploy/docker/postgres.Dockerfile --target backup -t quartet-backup .
# The base images are build arguments so CI can use local stand-ins; the defaults are the official images.
# Both targets share the postgres stage, so the server's archive-push and the backup tool's pgbackrest,
# pg_dump and pg_restore are the same versions as the server.
ARG POSTGRES_IMAGE=postgres:17-alpine
ARG DOTNET_SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0

FROM ${POSTGRES_IMAGE} AS postgres
USER root
# Alpine's or Debian's pgbackrest, whichever the base is. /var/lib/pgbackrest is where the backups
# volume is mounted: an empty volume takes this folder's owner and mode when first mounted.
RUN if command -v apk >/dev/null; then apk add --no-cache pgbackrest; \
    else apt-get update && apt-get install -y --no-install-recommends pgbackrest && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; fi \
 && mkdir -p /var/lib/pgbackrest \
 && chown postgres:postgres /var/lib/pgbackrest \
 && chmod 755 /var/lib/pgbackrest
COPY deploy/postgres/pgbackrest.conf /etc/pgbackrest/pgbackrest.conf
# archive_command's pgbackrest, with the repository's passphrase when QUARTET_BACKUP_ENCRYPTION=on.
COPY deploy/postgres/quartet-pgbackrest.sh /usr/local/bin/quartet-pgbackrest
RUN chmod 644 /etc/pgbackrest/pgbackrest.conf && chmod 755 /usr/local/bin/quartet-pgbackrest

# The backup tool (tools/Quartet.Backup), self-contained for the base's C library (glibc or musl).
FROM ${DOTNET_SDK_IMAGE} AS tool
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
WORKDIR /src
COPY --from=postgres /etc/os-release /tmp/base-os-release
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Quartet.Stack/ src/Quartet.Stack/
COPY tools/Quartet.Backup/ tools/Quartet.Backup/
# The runtime the tool carries matches the base image's C library (musl on Alpine, glibc elsewhere).
RUN os=linux; if grep -q '^ID=alpine' /tmp/base-os-release; then os=linux-musl; fi \
 && dotnet publish tools/Quartet.Backup/Quartet.Backup.csproj -c Release --os "$os" --self-contained \
      -p:PublishSingleFile=true --nologo --disable-build-servers -o /out

FROM postgres AS backup
# .NET's C++ runtime libraries (Debian's base has them already). Redis's volume is mounted at
# /var/lib/quartet/redis: a new volume takes this folder's owner, Redis's uid and gid in its image.
# The scratch volume (decrypted copies of encrypted sets, decision 0031) is mounted at
# /var/lib/quartet/scratch and takes this folder's owner and mode: the postgres account's only.
RUN if command -v apk >/dev/null; then apk add --no-cache libstdc++ libgcc; fi \
 && mkdir -p /var/lib/quartet/redis /var/lib/quartet/scratch \
 && chown 999:1000 /var/lib/quartet/redis \
 && chown postgres:postgres /var/lib/quartet/scratch \
 && chmod 700 /var/lib/quartet/scratch
COPY --from=tool /out/ /opt/quartet-backup/
ENV PATH=/opt/quartet-backup:$PATH
# The postgres account (Alpine's uid 70), so it reads the data folder and writes the repository.
USER postgres
WORKDIR /var/lib/pgbackrest
ENTRYPOINT ["quartet-backup"]
CMD ["run"]
