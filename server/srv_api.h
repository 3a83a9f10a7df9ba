/* The vehicle REST API: GET /v1/updates and POST /v1/status (DESIGN.md "Vehicle REST API"). */
#pragma once
#include "srv_route.h"

/* 200 with the current deployment (ETag; If-None-Match gives 304), 204 when none. */
srv_handler_fn srv_updates_get;

/* A status report through ota_status_apply(): 204, 400/413 (body), 409 (backward move or
 * foreign campaign), 503 (busy), 500. Nothing changes on error. */
srv_handler_fn srv_status_post;
