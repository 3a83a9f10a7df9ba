/* The SQL migrations compiled into every program, per backend (generated from schema/ by
 * embed.py): ota_schema_<backend>[i] brings schema version i to i + 1. */
#pragma once

extern const char *const ota_schema_sqlite[];
extern const unsigned ota_schema_sqlite_version;
extern const char *const ota_schema_postgresql[];
extern const unsigned ota_schema_postgresql_version;
