# Development only: the mail catcher compose.yaml runs beside the backend. maildev keeps every mail it
# receives on SMTP port 1025 and shows them in a web inbox (with a REST API) on port 1080. Production
# has none (compose.prod.yaml leaves it out, and the backend refuses its settings outside Development).
# Build from the repository root:
#   docker build -f deploy/docker/maildev.Dockerfile -t quartet-maildev .
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE}
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false \
    NODE_ENV=production
WORKDIR /maildev
# The same lock file as native mode's (deploy/maildev), so both run the same maildev.
COPY deploy/maildev/package.json deploy/maildev/package-lock.json ./
RUN npm ci --omit=dev \
 && mkdir /maildev/mail \
 && chown node:node /maildev/mail
USER node
EXPOSE 1025 1080
CMD ["node", "node_modules/maildev/dist/bin/maildev.js", "--smtp", "1025", "--web", "1080", "--mail-directory", "/maildev/mail"]
