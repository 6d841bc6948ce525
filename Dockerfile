# The installer image the DaemonSet in deploy/ runs: the wrapper, the metrics exporter and the
# admin tool, compiled by `deno compile` with the permission sets of
# deno.json, on a slim Debian base (whose util-linux provides the nsenter
# that `install` uses to restart the host's containerd or reload CRI-O).
#
#   docker build -t strict-supplementalgroups:0.1.0 .
#
# The tag matches src/admin/version.ts and the image in deploy/installer/.

FROM denoland/deno:debian-2.9.6 AS build
WORKDIR /src
ENV DENO_DIR=/deno-dir DENO_NO_UPDATE_CHECK=1
COPY deno.json deno.lock ./
COPY src/ src/
COPY tools/ tools/
RUN deno run -P=test --quiet tools/build.ts build --compile

FROM debian:12.12-slim
COPY --from=build /src/dist/strict-supplementalgroups-container-runtime /usr/local/bin/
COPY --from=build /src/dist/strict-supplementalgroups /usr/local/bin/
COPY --from=build /src/dist/strict-supplementalgroups-metrics /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/strict-supplementalgroups"]
CMD ["--help"]
