/* The SQL migrations compiled into every program (generated from schema/ by embed.py). */
#pragma once

/* ota_schema_migrations[i] brings user_version i to i + 1. */
extern const char *const ota_schema_migrations[];
extern const unsigned ota_schema_version;
