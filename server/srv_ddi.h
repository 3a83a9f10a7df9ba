/* hawkBit DDI route handler: /{tenant}/controller/v1/{controllerId}[/...] over mTLS. */
#pragma once
#include "srv_route.h"

/* One handler for every DDI resource and method (GET, HEAD, POST, PUT); it parses
 * req->url itself (srv_ddi_path), so the route row only has to send the DDI paths here.
 * Unknown tenant or path: 404; controllerId other than the certificate's id: 403; edges:
 * 403; a method the resource lacks: 405. */
srv_handler_fn srv_ddi_handle;
