# syntax=docker/dockerfile:1
# OtelPower agent image: the Native AOT executable on Ubuntu's chiseled runtime-deps (no shell, no
# package manager, glibc and OpenSSL only; nothing else runs in it).
#
#   docker build -t otelpower-agent .
#
# Runs as the image's non-root user (app, uid 1654) by default. Reading RAPL needs root: the
# kernel made /sys/class/powercap/*/energy_uj readable by root only (CVE-2020-8694), and container
# runtimes mask /sys/devices/virtual/powercap unless the host /sys is mounted elsewhere. Without
# root the agent still runs and estimates power, labelling every data point
# otelpower.source=estimate. To measure, run as root with the host's /proc and /sys read-only:
#
#   docker run --rm --user 0 --pid host --cgroupns host \
#     -v /proc:/host/proc:ro -v /sys:/host/sys:ro otelpower-agent \
#     --procfs /host/proc --sysfs /host/sys --cgroupfs /host/sys/fs/cgroup --exporter console

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# Native AOT links with clang and needs zlib's headers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends clang zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Restore on its own layer so source edits do not download packages again.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/OtelPower.Agent/OtelPower.Agent.csproj src/OtelPower.Agent/
COPY src/OtelPower.Attribution/OtelPower.Attribution.csproj src/OtelPower.Attribution/
COPY src/OtelPower.Instrumentation/OtelPower.Instrumentation.csproj src/OtelPower.Instrumentation/
COPY src/OtelPower.Sampling/OtelPower.Sampling.csproj src/OtelPower.Sampling/
COPY src/OtelPower.Sensors/OtelPower.Sensors.csproj src/OtelPower.Sensors/
RUN dotnet restore src/OtelPower.Agent/OtelPower.Agent.csproj -r linux-x64
COPY src/ src/
# One executable (otelpower) and appsettings.json; no .dll, no .NET runtime needed beside it.
RUN dotnet publish src/OtelPower.Agent/OtelPower.Agent.csproj -c Release -r linux-x64 -o /app --no-restore

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled AS runtime
WORKDIR /app
COPY --from=build /app/otelpower /app/appsettings.json ./
# 9464: the optional Prometheus endpoint (--exporter prometheus), also used by probes.
EXPOSE 9464
# APP_UID (1654) is the non-root user the .NET images ship; override with --user 0 for RAPL.
USER $APP_UID
ENTRYPOINT ["/app/otelpower"]
CMD ["--exporter", "otlp"]
