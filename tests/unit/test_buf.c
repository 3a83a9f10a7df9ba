/* ota_buf (bounded text buffer) and ota_metrics (the Prometheus writer on it). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include "ota_buf.h"
#include "ota_metrics.h"
#include "ota_test.h"

static void test_heap(void)
{
    struct ota_buf b;
    size_t len = 0;
    char *t;

    ota_buf_init(&b, 10);
    CHECK_STR(ota_buf_str(&b), "");
    ota_buf_puts(&b, "");
    CHECK_STR(ota_buf_str(&b), "");
    ota_buf_printf(&b, "%d-%s", 42, "ab");
    CHECK_STR(ota_buf_str(&b), "42-ab");
    CHECK_INT(ota_buf_error(&b), 0);
    ota_buf_puts(&b, "cdefgh"); /* 11 bytes: cut at the limit of 10 */
    CHECK_STR(ota_buf_str(&b), "42-abcdefg");
    CHECK_INT(ota_buf_error(&b), -E2BIG);
    ota_buf_putc(&b, 'x'); /* still full, still failed */
    CHECK_STR(ota_buf_str(&b), "42-abcdefg");
    CHECK(ota_buf_take(&b, &len) == NULL); /* a failed buffer hands nothing over */
    ota_buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++) /* grows past its first allocation */
        ota_buf_printf(&b, "%04d", i);
    CHECK_INT(ota_buf_error(&b), 0);
    CHECK_INT((int)b.len, 4000);
    t = ota_buf_take(&b, &len);
    CHECK(t != NULL && len == 4000 && strncmp(t + 3996, "0999", 4) == 0 && t[4000] == '\0');
    free(t);
    CHECK_STR(ota_buf_str(&b), ""); /* empty after take */
    t = ota_buf_take(&b, &len);     /* nothing appended: an empty text, not NULL */
    CHECK(t != NULL && len == 0 && t[0] == '\0');
    free(t);
    /* a long printf is cut like a put: its leading part kept */
    ota_buf_init(&b, 300);
    ota_buf_printf(&b, "%0400d", 7);
    CHECK_INT((int)b.len, 300);
    CHECK_INT(ota_buf_error(&b), -E2BIG);
    ota_buf_clear(&b);
    CHECK_INT(ota_buf_error(&b), 0);
    CHECK_STR(ota_buf_str(&b), "");
    ota_buf_free(&b);
    ota_buf_free(&b); /* twice: a no-op */
}

static void test_fixed(void)
{
    char mem[8];
    struct ota_buf b;

    ota_buf_init_fixed(&b, mem, sizeof(mem));
    for (const char *p = "abcdefghij"; *p; p++)
        ota_buf_putc(&b, *p);
    CHECK_STR(mem, "abcdefg"); /* 7 bytes and the NUL */
    CHECK_INT(ota_buf_error(&b), -E2BIG);
    CHECK(ota_buf_take(&b, NULL) == NULL); /* the caller's memory is never handed over */
    ota_buf_puts(&b, "xy");
    CHECK_STR(mem, "xy");
    CHECK_INT(ota_buf_error(&b), 0);
}

static void test_metrics(void)
{
    struct ota_buf b;

    ota_buf_init(&b, 4096);
    ota_metrics_family(&b, "ota_x_total", "counter", "Line one\nback\\slash \"quoted\".");
    ota_metrics_u64(&b, "ota_x_total", UINT64_MAX, NULL);
    ota_metrics_u64(&b, "ota_x_total", 3, "campaign", "12", "name", "a \"b\"\\c\nd", NULL);
    ota_metrics_i64(&b, "ota_g", -5, "k", NULL, NULL);
    ota_metrics_f64(&b, "ota_s", 0.25, NULL);
    ota_metrics_f64(&b, "ota_s", INFINITY, "le", "+Inf", NULL);
    CHECK_STR(ota_buf_str(&b), "# HELP ota_x_total Line one\\nback\\\\slash \"quoted\".\n"
                               "# TYPE ota_x_total counter\n"
                               "ota_x_total 18446744073709551615\n"
                               "ota_x_total{campaign=\"12\",name=\"a \\\"b\\\"\\\\c\\nd\"} 3\n"
                               "ota_g{k=\"\"} -5\n"
                               "ota_s 0.250000\n"
                               "ota_s{le=\"+Inf\"} +Inf\n");
    CHECK_INT(ota_buf_error(&b), 0);
    ota_buf_free(&b);
}

int main(void)
{
    test_heap();
    test_fixed();
    test_metrics();
    printf("%d failures\n", ota_test_failures);
    return ota_test_failures ? 1 : 0;
}
