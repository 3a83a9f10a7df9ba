/* The PostgreSQL backend's SQL, one string per statement of enum ota_stmt. */
#pragma once
#include "ota_db_stmt.h"

extern const char *const ota_db_pg_sql[ST_COUNT];
