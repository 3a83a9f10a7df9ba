/* Vehicle ids for --fleet: expanded from a numbered pattern like "VEH%04d", or read from a
 * file with one id per line. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Expands @pattern for number @n into @buf. The pattern holds exactly one conversion,
 * "%d" or "%Nd"/"%0Nd" with a width of at most 20, and "%%" for a literal '%'; this is
 * parsed here, never handed to printf. The result must be a valid id (ota_id_valid()).
 * Returns 0, -EINVAL (bad pattern or id) or -ENAMETOOLONG (does not fit @len). */
int veh_ids_format(const char *pattern, uint64_t n, char *buf, size_t len);

/* Reads ids from @path: one per line, blank lines and lines starting with '#' skipped,
 * surrounding blanks trimmed; at most @max ids. On success *ret_ids is a new array of
 * *ret_n new strings: free with veh_ids_free(). Returns 0, -ENOENT/-EACCES/-EIO,
 * -EINVAL (a line is not a valid id; *ret_line says which) or -E2BIG (more than @max). */
int veh_ids_load(const char *path, size_t max, char ***ret_ids, size_t *ret_n, size_t *ret_line);
void veh_ids_free(char **ids, size_t n);
