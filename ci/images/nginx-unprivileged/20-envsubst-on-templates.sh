#!/bin/sh
# As the official image's script of the same name: every $NGINX_ENVSUBST_TEMPLATE_DIR/**/*.template
# becomes $NGINX_ENVSUBST_OUTPUT_DIR/<name without .template>, with envsubst replacing only the
# environment variables that are defined (and, with NGINX_ENVSUBST_FILTER, whose names match it),
# so nginx's own $variables stay as they are.
set -eu

template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
filter="${NGINX_ENVSUBST_FILTER:-}"

[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
  echo "$0: error: $output_dir is not writable" >&2
  exit 1
fi

# shellcheck disable=SC2016 # awk's own program text
defined_envs="$(awk -v filter="$filter" '
  END { for (name in ENVIRON) if (filter == "" || name ~ filter) printf "${%s} ", name }' </dev/null)"

find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
  relative="${template#"$template_dir"/}"
  output="$output_dir/${relative%"$suffix"}"
  mkdir -p "$(dirname "$output")"
  echo "$0: running envsubst on $template to $output"
  envsubst "$defined_envs" <"$template" >"$output"
done
