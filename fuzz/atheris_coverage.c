/*
 * Atheris's coverage callbacks, forwarded to atheris when gcc's libasan is preloaded.
 *
 * libasan defines weak no-op versions of libFuzzer's coverage callbacks. Preloaded, it comes first in the
 * process's symbol lookup, so atheris's libFuzzer (loaded later, with RTLD_LOCAL) registers its Python coverage
 * counters with those no-ops: libFuzzer then sees no coverage at all and keeps no input. Preloaded before
 * libasan (fuzz/sanitized.py does it), this library's definitions are found first and call atheris's own.
 * They are tail calls, so libFuzzer still sees the caller's PC.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void *core;

static int find_core(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    if (info->dlpi_name && strstr(info->dlpi_name, "atheris/core_with_libfuzzer")) {
        core = dlopen(info->dlpi_name, RTLD_NOLOAD | RTLD_LAZY);
        return 1;
    }
    return 0;
}

static void *atheris_symbol(const char *name) {
    if (core == NULL) dl_iterate_phdr(find_core, NULL);
    return core ? dlsym(core, name) : NULL;
}

#define FORWARD(name, params, args)                                                                            \
    void name params {                                                                                         \
        static void(*real) params;                                                                             \
        if (real == NULL) *(void **)&real = atheris_symbol(#name);                                             \
        if (real != NULL) real args;                                                                           \
    }

FORWARD(__sanitizer_cov_8bit_counters_init, (uint8_t *start, uint8_t *end), (start, end))
FORWARD(__sanitizer_cov_pcs_init, (const uintptr_t *start, const uintptr_t *end), (start, end))
FORWARD(__sanitizer_cov_trace_cmp8, (uint64_t a, uint64_t b), (a, b))
FORWARD(__sanitizer_cov_trace_const_cmp8, (uint64_t a, uint64_t b), (a, b))
