# The customised app image: the base plus settings, with a HEALTHCHECK of
# its own.
ARG BASE
FROM ${BASE} AS app
ARG PHP_MEMORY_LIMIT=128M
ENV PHP_MEMORY_LIMIT=${PHP_MEMORY_LIMIT}
COPY config.php /srv/config/config.php
HEALTHCHECK --interval=30s --timeout=5s CMD ["/app", "healthcheck"]
