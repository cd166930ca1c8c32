/* check.h — the unit tests' whole harness: CHECK counts, a failure names
 * its file and line (CHECK_EQ also the two values it compared), and
 * CHECK_DONE prints the closing "NAME: N passed, N failed" line and gives
 * the exit status. */
#ifndef PUSH_TEST_CHECK_H
#define PUSH_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK_AT(line, cond)                                               \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        }                                                                  \
        else {                                                             \
            failed++;                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,         \
                    (int)(line), #cond);                                   \
        }                                                                  \
    } while (0)

#define CHECK(cond) CHECK_AT(__LINE__, cond)

/* Integer equality, saying both values when they differ. */
#define CHECK_EQ(a, b)                                                     \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        if (a_ == b_) {                                                    \
            passed++;                                                      \
        }                                                                  \
        else {                                                             \
            failed++;                                                      \
            fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)" \
                    "\n", __FILE__, __LINE__, #a, #b, a_, b_);             \
        }                                                                  \
    } while (0)

#define CHECK_DONE(name)                                                   \
    (printf("%s: %d passed, %d failed\n", (name), passed, failed),         \
     failed ? 1 : 0)

#endif
