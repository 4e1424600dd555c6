#!/usr/bin/env bash
# While nothing has been released, the schema lives in one initial migration. Regenerate it
# from the models: ./tests/support/regenerate_initial_migration.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
rm -f migrations/versions/0001_initial_schema.py
LOYALTY_DATABASE_URL="sqlite:///$tmp/gen.db" .venv/bin/alembic revision --autogenerate -m "initial schema" --rev-id 0001 >/dev/null
rm -rf "$tmp"
echo "regenerated migrations/versions/0001_initial_schema.py"
