#!/bin/sh
# Run once by the postgres image on an empty volume (docker-entrypoint-initdb.d), as its superuser,
# after it made POSTGRES_DB ("bridge"). One role and one database for each party, none of them a
# superuser, and no role able to connect to another's database:
#
#   orthanc_clinical  owns orthanc_clinical  (the clinical Orthanc's index)
#   orthanc_research  owns orthanc_research  (the research Orthanc's index)
#   research_bridge   owns bridge            (the bridge's state: jobs, claims, quarantine, audit)
#
# Whoever takes the research container holds the research role's password only: it cannot read
# the clinical index, nor the bridge's state. The superuser's password stays with this container.
# Passwords come from the secrets (one file each); SECRETS_DIR points elsewhere (tests).
set -eu

secret() {
  file="${SECRETS_DIR:-/run/secrets}/$1"
  if [ ! -r "$file" ]; then
    echo "postgres-init: the secret $1 is missing ($file)" >&2
    exit 1
  fi
  tr -d '\r\n' <"$file"
}

clinical_pw="$(secret pg_clinical_password)"
research_pw="$(secret pg_research_password)"
bridge_pw="$(secret pg_bridge_password)"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-bridge}" \
  -v clinical_pw="$clinical_pw" -v research_pw="$research_pw" -v bridge_pw="$bridge_pw" \
  -v bridge_db="${POSTGRES_DB:-bridge}" <<'SQL'
CREATE ROLE orthanc_clinical LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'clinical_pw';
CREATE ROLE orthanc_research LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'research_pw';
CREATE ROLE research_bridge LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'bridge_pw';

CREATE DATABASE orthanc_clinical OWNER orthanc_clinical;
CREATE DATABASE orthanc_research OWNER orthanc_research;
ALTER DATABASE :"bridge_db" OWNER TO research_bridge;

-- PUBLIC may connect to every database by default: only each owner (and the superuser) may.
REVOKE ALL ON DATABASE orthanc_clinical FROM PUBLIC;
REVOKE ALL ON DATABASE orthanc_research FROM PUBLIC;
REVOKE ALL ON DATABASE :"bridge_db" FROM PUBLIC;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
SQL
