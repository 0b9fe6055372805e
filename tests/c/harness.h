/*
 * A minimal test harness for the C tests of libcortado: no dependency beyond libc.
 *
 * Each test is a `static void` function run with RUN(); CHECK-style macros mark the running
 * test failed (and carry on, so one run reports every mismatch). HARNESS_END() prints one
 * machine-readable line, `RESULT <passed> <failed>`, that tests/c/run.sh adds up, and makes
 * the exit status non-zero on any failure.
 *
 * The failure flag is atomic so helper threads may CHECK too.
 */
#ifndef CORTADO_TEST_HARNESS_H
#define CORTADO_TEST_HARNESS_H

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cortado.h"

static int harness_passed;
static int harness_failed;
static atomic_int harness_case_failed;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            atomic_store(&harness_case_failed, 1);                                        \
        }                                                                                 \
    } while (0)

/* Compares a status with the expected one, naming both on a mismatch. */
#define CHECK_STATUS(expr, want)                                                          \
    do {                                                                                  \
        cortado_status harness_got_ = (expr);                                             \
        cortado_status harness_want_ = (want);                                            \
        if (harness_got_ != harness_want_) {                                              \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %u (%s)\n", __FILE__,   \
                    __LINE__, #expr, (unsigned)harness_got_,                              \
                    cortado_status_str(harness_got_), (unsigned)harness_want_,            \
                    cortado_status_str(harness_want_));                                   \
            atomic_store(&harness_case_failed, 1);                                        \
        }                                                                                 \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, CORTADO_STATUS_OK)

/* Compares a value handle's bytes with a C string. */
#define CHECK_VALUE(value, str)                                                           \
    do {                                                                                  \
        const cortado_value *harness_v_ = (value);                                        \
        const char *harness_s_ = (str);                                                   \
        if (harness_v_ == NULL || cortado_value_len(harness_v_) != strlen(harness_s_) ||  \
            memcmp(cortado_value_data(harness_v_), harness_s_, strlen(harness_s_)) != 0) {\
            fprintf(stderr, "%s:%d: value %s is not \"%s\"\n", __FILE__, __LINE__,       \
                    #value, harness_s_);                                                  \
            atomic_store(&harness_case_failed, 1);                                        \
        }                                                                                 \
    } while (0)

#define RUN(test)                                                                         \
    do {                                                                                  \
        atomic_store(&harness_case_failed, 0);                                            \
        test();                                                                           \
        if (atomic_load(&harness_case_failed)) {                                          \
            harness_failed++;                                                             \
            printf("FAIL %s\n", #test);                                                   \
        } else {                                                                          \
            harness_passed++;                                                             \
            printf("ok   %s\n", #test);                                                   \
        }                                                                                 \
        fflush(stdout);                                                                   \
    } while (0)

#define HARNESS_END()                                                                     \
    do {                                                                                  \
        printf("RESULT %d %d\n", harness_passed, harness_failed);                         \
        return harness_failed == 0 ? 0 : 1;                                               \
    } while (0)

/* Byte pair of a C string literal or variable. */
#define S(str) (const uint8_t *)(str), strlen(str)

#endif /* CORTADO_TEST_HARNESS_H */
