/*
 * pipelines.matching._fastmatch: the bulk matcher's inner loop in C (optional; pipelines/matching/driver.py falls back to
 * SQL when this module is not built).
 *
 * Input: the URLs of the store as they are stored (WHATWG-normalized absolute URLs, no fragment), as the
 * offsets and data buffers of an Arrow string array; the tables come the same way (Arrow binary columns
 * of keys with int32 columns of group ids), so a million entries load without a Python object each. For each URL it derives the Safe Browsing lookup
 * expressions of pipelines/urls/canonical.py (every host suffix x every path prefix at a '/' boundary, the exact
 * path with and without its query) and looks them up in hash tables built from the list entries:
 * host entries (`host/`, with or without subdomains), URL entries (`host/path`), hashed expressions (full
 * SHA-256 / SHA-1 / MD5 digests or byte prefixes of them) and IPv4 ranges. URLs whose path needs the full
 * canonicalizer (percent escapes, empty segments) are handed back to Python unmatched.
 *
 * Digests come from the libcrypto that Python's hashlib itself uses, loaded with dlopen: no headers needed
 * at build time. Without it, hashed entries are refused (HASHES_AVAILABLE is False).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------------- */
/* digests through libcrypto                                                                            */

typedef int (*digest_init_fn)(void *);
typedef int (*digest_update_fn)(void *, const void *, size_t);
typedef int (*digest_final_fn)(unsigned char *, void *);

typedef struct {
    const char *name;
    const char *symbols[3];
    int size;
    digest_init_fn init;
    digest_update_fn update;
    digest_final_fn final;
} DigestKind;

static DigestKind DIGESTS[3] = {
    {"sha256", {"SHA256_Init", "SHA256_Update", "SHA256_Final"}, 32, NULL, NULL, NULL},
    {"sha1", {"SHA1_Init", "SHA1_Update", "SHA1_Final"}, 20, NULL, NULL, NULL},
    {"md5", {"MD5_Init", "MD5_Update", "MD5_Final"}, 16, NULL, NULL, NULL},
};
static int hashes_available = 0;

static void load_libcrypto(void) {
    const char *names[] = {"libcrypto.so.3", "libcrypto.so", "libcrypto.so.1.1", NULL};
    void *handle = NULL;
    for (int i = 0; names[i] != NULL && handle == NULL; i++) handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) return;
    for (int k = 0; k < 3; k++) {
        DIGESTS[k].init = (digest_init_fn)dlsym(handle, DIGESTS[k].symbols[0]);
        DIGESTS[k].update = (digest_update_fn)dlsym(handle, DIGESTS[k].symbols[1]);
        DIGESTS[k].final = (digest_final_fn)dlsym(handle, DIGESTS[k].symbols[2]);
        if (!DIGESTS[k].init || !DIGESTS[k].update || !DIGESTS[k].final) return;
    }
    hashes_available = 1;
}

static void digest_of(int kind, const char *data, size_t length, unsigned char *out) {
    /* large enough and aligned for SHA256_CTX, SHA_CTX and MD5_CTX of any OpenSSL */
    _Alignas(16) unsigned char context[512];
    DIGESTS[kind].init(context);
    DIGESTS[kind].update(context, data, length);
    DIGESTS[kind].final(out, context);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Arrow-style string columns handed over from Python                                                   */

typedef struct {
    Py_buffer offsets, data;
    Py_ssize_t count;
    int wide; /* int64 offsets (large_string/large_binary) instead of int32 */
} Column;

static int column_get(PyObject *spec, Column *column) {
    memset(column, 0, sizeof(*column));
    if (!PyArg_ParseTuple(spec, "y*y*np", &column->offsets, &column->data, &column->count, &column->wide)) return -1;
    size_t need = (size_t)(column->count + 1) * (column->wide ? 8 : 4);
    if ((size_t)column->offsets.len < need) {
        PyBuffer_Release(&column->offsets);
        PyBuffer_Release(&column->data);
        PyErr_SetString(PyExc_ValueError, "offsets buffer too short");
        return -1;
    }
    return 0;
}

static void column_release(Column *column) {
    PyBuffer_Release(&column->offsets);
    PyBuffer_Release(&column->data);
}

/* the i-th value; -1 when its offsets are out of the data buffer */
static inline int column_value(const Column *column, Py_ssize_t i, const char **value, size_t *length) {
    int64_t start, stop;
    if (column->wide) {
        start = ((const int64_t *)column->offsets.buf)[i];
        stop = ((const int64_t *)column->offsets.buf)[i + 1];
    } else {
        start = ((const int32_t *)column->offsets.buf)[i];
        stop = ((const int32_t *)column->offsets.buf)[i + 1];
    }
    if (start < 0 || stop < start || stop > column->data.len) return -1;
    *value = (const char *)column->data.buf + start;
    *length = (size_t)(stop - start);
    return 0;
}

/* ---------------------------------------------------------------------------------------------------- */
/* open-addressing hash table: byte string -> int32 value                                               */

typedef struct {
    uint64_t hash;
    const char *key;
    uint32_t length;
    int32_t value;
} Slot;

typedef struct {
    Slot *slots;
    size_t mask;
    size_t count;
    char *arena;
    int random_keys; /* keys are digests: their own bytes are a good hash */
    uint64_t *filter; /* a two-probe Bloom filter over the key hashes: most lookups miss, and this small bit
                         array answers them without touching the (much larger) slot array */
    size_t filter_mask; /* in bits */
} Table;

static inline uint64_t hash_bytes(const char *data, size_t length) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < length; i++) {
        h ^= (unsigned char)data[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h | 1; /* 0 marks an empty slot */
}

static inline uint64_t key_hash(const Table *table, const char *key, size_t length) {
    if (table->random_keys) {
        uint64_t h = 0;
        memcpy(&h, key, length < 8 ? length : 8);
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;
        return h | 1;
    }
    return hash_bytes(key, length);
}

static inline int filter_may_hold(const Table *table, uint64_t h) {
    size_t a = h & table->filter_mask, b = (h >> 32) & table->filter_mask;
    return ((table->filter[a >> 6] >> (a & 63)) & 1) && ((table->filter[b >> 6] >> (b & 63)) & 1);
}

static inline void filter_add(Table *table, uint64_t h) {
    size_t a = h & table->filter_mask, b = (h >> 32) & table->filter_mask;
    table->filter[a >> 6] |= (uint64_t)1 << (a & 63);
    table->filter[b >> 6] |= (uint64_t)1 << (b & 63);
}

static void table_free(Table *table) {
    PyMem_Free(table->filter);
    PyMem_Free(table->slots);
    PyMem_Free(table->arena);
    memset(table, 0, sizeof(*table));
}

/* builds `table` from a key column and an int32 value per key (a later duplicate key wins) */
static int table_build(Table *table, const Column *keys, const int32_t *values, int random_keys) {
    table_free(table);
    table->random_keys = random_keys;
    size_t capacity = 16;
    while (capacity < (size_t)keys->count * 2 + 1) capacity <<= 1;
    size_t filter_bits = 512;
    while (filter_bits < (size_t)keys->count * 8) filter_bits <<= 1;
    table->slots = PyMem_Calloc(capacity, sizeof(Slot));
    table->arena = PyMem_Malloc((size_t)keys->data.len + 1);
    table->filter = PyMem_Calloc(filter_bits / 64, sizeof(uint64_t));
    table->filter_mask = filter_bits - 1;
    if (table->slots == NULL || table->arena == NULL || table->filter == NULL) {
        table_free(table);
        PyErr_NoMemory();
        return -1;
    }
    table->mask = capacity - 1;
    char *cursor = table->arena;
    for (Py_ssize_t i = 0; i < keys->count; i++) {
        const char *key;
        size_t length;
        if (column_value(keys, i, &key, &length) < 0) {
            table_free(table);
            PyErr_SetString(PyExc_ValueError, "key offsets out of the data buffer");
            return -1;
        }
        uint64_t h = key_hash(table, key, length);
        filter_add(table, h);
        size_t at = h & table->mask;
        int replaced = 0;
        while (table->slots[at].hash != 0) {
            Slot *slot = &table->slots[at];
            if (slot->hash == h && slot->length == length && memcmp(slot->key, key, length) == 0) {
                slot->value = values[i];
                replaced = 1;
                break;
            }
            at = (at + 1) & table->mask;
        }
        if (replaced) continue;
        memcpy(cursor, key, length);
        table->slots[at].hash = h;
        table->slots[at].key = cursor;
        table->slots[at].length = (uint32_t)length;
        table->slots[at].value = values[i];
        cursor += length;
        table->count++;
    }
    return 0;
}

static inline int32_t table_lookup(const Table *table, const char *key, size_t length) {
    if (table->count == 0) return -1;
    uint64_t h = key_hash(table, key, length);
    if (!filter_may_hold(table, h)) return -1;
    size_t at = h & table->mask;
    while (table->slots[at].hash != 0) {
        const Slot *slot = &table->slots[at];
        if (slot->hash == h && slot->length == length && memcmp(slot->key, key, length) == 0) return slot->value;
        at = (at + 1) & table->mask;
    }
    return -1;
}

/* ---------------------------------------------------------------------------------------------------- */
/* the matcher                                                                                          */

#define MAX_HASH_TABLES 16

typedef struct {
    int kind;          /* index into DIGESTS */
    Py_ssize_t prefix; /* bytes of the digest compared */
    Table table;       /* digest (prefix) -> group */
} HashTable;

typedef struct {
    uint32_t low, high;
    int32_t group;
} Range;

/* what a host suffix names: a domain/IP entry covering subdomains, one for the exact host, URL entries */
typedef struct {
    int32_t any_group, exact_group;
    uint8_t url_host;
} HostInfo;

typedef struct {
    PyObject_HEAD
    Table hosts; /* host suffix (no trailing '/') -> index into host_info */
    HostInfo *host_info;
    Table urls;  /* host/path expression -> group */
    HashTable hashes[MAX_HASH_TABLES];
    int hash_tables;
    int digest_used[3];
    Range *ranges;
    Py_ssize_t range_count;
} Matcher;

static void Matcher_dealloc(Matcher *self) {
    table_free(&self->hosts);
    PyMem_Free(self->host_info);
    table_free(&self->urls);
    for (int i = 0; i < self->hash_tables; i++) table_free(&self->hashes[i].table);
    PyMem_Free(self->ranges);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int digest_kind(const char *name) {
    for (int k = 0; k < 3; k++)
        if (strcmp(DIGESTS[k].name, name) == 0) return k;
    return -1;
}

static int int32_column(Py_buffer *buffer, Py_ssize_t count, const char *what) {
    if (buffer->len < count * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_Format(PyExc_ValueError, "%s: %zd int32 values expected", what, count);
        return -1;
    }
    return 0;
}

/* set_hosts((offsets, data, count, wide), any_groups int32[], exact_groups int32[], url_host uint8[]) */
static PyObject *Matcher_set_hosts(Matcher *self, PyObject *args) {
    PyObject *spec;
    Py_buffer any, exact, url_host;
    if (!PyArg_ParseTuple(args, "Oy*y*y*", &spec, &any, &exact, &url_host)) return NULL;
    Column keys;
    PyObject *result = NULL;
    if (column_get(spec, &keys) < 0) goto release;
    if (int32_column(&any, keys.count, "any_groups") < 0 || int32_column(&exact, keys.count, "exact_groups") < 0)
        goto done;
    if (url_host.len < keys.count) {
        PyErr_SetString(PyExc_ValueError, "url_host: one byte per key expected");
        goto done;
    }
    PyMem_Free(self->host_info);
    self->host_info = PyMem_Calloc((size_t)keys.count + 1, sizeof(HostInfo));
    int32_t *indexes = PyMem_Malloc(((size_t)keys.count + 1) * sizeof(int32_t));
    if (self->host_info == NULL || indexes == NULL) {
        PyMem_Free(indexes);
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < keys.count; i++) {
        self->host_info[i].any_group = ((const int32_t *)any.buf)[i];
        self->host_info[i].exact_group = ((const int32_t *)exact.buf)[i];
        self->host_info[i].url_host = ((const uint8_t *)url_host.buf)[i];
        indexes[i] = (int32_t)i;
    }
    int built = table_build(&self->hosts, &keys, indexes, 0);
    PyMem_Free(indexes);
    if (built == 0) result = Py_NewRef(Py_None);
done:
    column_release(&keys);
release:
    PyBuffer_Release(&any);
    PyBuffer_Release(&exact);
    PyBuffer_Release(&url_host);
    return result;
}

/* set_urls((offsets, data, count, wide), groups int32[]) */
static PyObject *Matcher_set_urls(Matcher *self, PyObject *args) {
    PyObject *spec;
    Py_buffer groups;
    if (!PyArg_ParseTuple(args, "Oy*", &spec, &groups)) return NULL;
    Column keys;
    PyObject *result = NULL;
    if (column_get(spec, &keys) == 0) {
        if (int32_column(&groups, keys.count, "groups") == 0 &&
            table_build(&self->urls, &keys, (const int32_t *)groups.buf, 0) == 0)
            result = Py_NewRef(Py_None);
        column_release(&keys);
    }
    PyBuffer_Release(&groups);
    return result;
}

/* add_hash_table(algorithm, prefix_bytes, (offsets, data, count, wide), groups int32[]) */
static PyObject *Matcher_add_hash_table(Matcher *self, PyObject *args) {
    const char *name;
    Py_ssize_t prefix;
    PyObject *spec;
    Py_buffer groups;
    if (!PyArg_ParseTuple(args, "snOy*", &name, &prefix, &spec, &groups)) return NULL;
    PyObject *result = NULL;
    int kind = digest_kind(name);
    Column keys;
    if (kind < 0 || prefix < 1 || prefix > DIGESTS[kind].size) {
        PyErr_Format(PyExc_ValueError, "unsupported hash table %s/%zd", name, prefix);
    } else if (!hashes_available) {
        PyErr_SetString(PyExc_RuntimeError, "libcrypto not found: hashed entries cannot be matched here");
    } else if (self->hash_tables == MAX_HASH_TABLES) {
        PyErr_SetString(PyExc_ValueError, "too many hash tables");
    } else if (column_get(spec, &keys) == 0) {
        HashTable *table = &self->hashes[self->hash_tables];
        if (int32_column(&groups, keys.count, "groups") == 0 &&
            table_build(&table->table, &keys, (const int32_t *)groups.buf, 1) == 0) {
            table->kind = kind;
            table->prefix = prefix;
            self->hash_tables++;
            self->digest_used[kind] = 1;
            result = Py_NewRef(Py_None);
        }
        column_release(&keys);
    }
    PyBuffer_Release(&groups);
    return result;
}

/* set_ranges([(low, high, group), ...]) for IPv4 CIDR entries */
static PyObject *Matcher_set_ranges(Matcher *self, PyObject *args) {
    PyObject *ranges;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &ranges)) return NULL;
    Py_ssize_t count = PyList_GET_SIZE(ranges);
    Range *parsed = PyMem_Calloc((size_t)count + 1, sizeof(Range));
    if (parsed == NULL) return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < count; i++) {
        unsigned long low, high;
        int group;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(ranges, i), "kki", &low, &high, &group)) {
            PyMem_Free(parsed);
            return NULL;
        }
        parsed[i].low = (uint32_t)low;
        parsed[i].high = (uint32_t)high;
        parsed[i].group = group;
    }
    PyMem_Free(self->ranges);
    self->ranges = parsed;
    self->range_count = count;
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------------------------------- */
/* results: rows and groups as int64/int32 arrays, expressions as one Arrow-style string column        */

typedef struct {
    int64_t *rows;
    int32_t *groups;
    int32_t *offsets; /* count + 1 */
    char *text;
    size_t count, capacity, text_length, text_capacity;
} Hits;

static void hits_free(Hits *hits) {
    PyMem_Free(hits->rows);
    PyMem_Free(hits->groups);
    PyMem_Free(hits->offsets);
    PyMem_Free(hits->text);
}

static int hits_add(Hits *hits, int64_t row, int32_t group, const char *expression, size_t length) {
    if (hits->count + 1 >= hits->capacity) {
        size_t capacity = hits->capacity ? hits->capacity * 2 : 1024;
        int64_t *rows = PyMem_Realloc(hits->rows, capacity * sizeof(int64_t));
        if (rows == NULL) return -1;
        hits->rows = rows;
        int32_t *groups = PyMem_Realloc(hits->groups, capacity * sizeof(int32_t));
        if (groups == NULL) return -1;
        hits->groups = groups;
        int32_t *offsets = PyMem_Realloc(hits->offsets, (capacity + 1) * sizeof(int32_t));
        if (offsets == NULL) return -1;
        if (hits->capacity == 0) offsets[0] = 0;
        hits->offsets = offsets;
        hits->capacity = capacity;
    }
    if (hits->text_length + length > hits->text_capacity) {
        size_t capacity = hits->text_capacity ? hits->text_capacity * 2 : 65536;
        while (capacity < hits->text_length + length) capacity *= 2;
        if (capacity > INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "too many hits in one call: match smaller chunks");
            return -1;
        }
        char *text = PyMem_Realloc(hits->text, capacity);
        if (text == NULL) return -1;
        hits->text = text;
        hits->text_capacity = capacity;
    }
    memcpy(hits->text + hits->text_length, expression, length);
    hits->text_length += length;
    hits->rows[hits->count] = row;
    hits->groups[hits->count] = group;
    hits->count++;
    hits->offsets[hits->count] = (int32_t)hits->text_length;
    return 0;
}

/* ---------------------------------------------------------------------------------------------------- */
/* one URL                                                                                              */

#define MAX_LABELS 128
#define MAX_PATHS 256

static int parse_ipv4(const char *host, size_t length, uint32_t *out) {
    uint32_t value = 0;
    int parts = 0;
    size_t i = 0;
    while (i < length) {
        uint32_t part = 0;
        size_t digits = 0;
        while (i < length && host[i] >= '0' && host[i] <= '9') {
            part = part * 10 + (uint32_t)(host[i] - '0');
            if (++digits > 3 || part > 255) return 0;
            i++;
        }
        if (digits == 0) return 0;
        value = (value << 8) | part;
        parts++;
        if (i < length) {
            if (host[i] != '.' || parts == 4) return 0;
            i++;
            if (i == length) return 0;
        }
    }
    if (parts != 4) return 0;
    *out = value;
    return 1;
}

/* returns 1 when the URL was matched here, 0 when Python must canonicalize it first, -1 on error */
static int match_one(Matcher *self, const char *url, size_t n, int64_t row, Hits *hits, char **buffer,
                     size_t *buffer_size, int canonical) {
    /* scheme://authority */
    size_t at = 0;
    while (at + 2 < n && !(url[at] == ':' && url[at + 1] == '/' && url[at + 2] == '/')) at++;
    if (at + 2 >= n) return 0;
    size_t authority = at + 3, end = authority;
    while (end < n && url[end] != '/' && url[end] != '?' && url[end] != '#') end++;
    size_t host_start = authority;
    for (size_t i = authority; i < end; i++)
        if (url[i] == '@') host_start = i + 1;
    size_t host_end = host_start;
    if (host_start < end && url[host_start] == '[') {
        while (host_end < end && url[host_end] != ']') host_end++;
        if (host_end == end) return 0;
        host_end++;
    } else {
        while (host_end < end && url[host_end] != ':') host_end++;
    }
    /* path and query: anything the Python canonicalizer would change goes back to Python */
    const char *pq = url + end;
    size_t pq_length = n - end;
    if (pq_length == 0) {
        pq = "/";
        pq_length = 1;
    }
    if (pq[0] != '/') return 0;
    for (size_t i = 0; i < pq_length && !canonical; i++) {
        char c = pq[i];
        if (c == '%' || c == '#' || (c == '/' && i + 1 < pq_length && pq[i + 1] == '/')) return 0;
    }
    size_t path_length = 0;
    while (path_length < pq_length && pq[path_length] != '?') path_length++;
    int has_query = path_length + 1 < pq_length; /* a '?' with something after it */

    /* the host without leading, trailing or repeated dots, in a buffer with room for any expression */
    size_t needed = (host_end - host_start) + pq_length + 2;
    if (needed > *buffer_size) {
        char *bigger = PyMem_Realloc(*buffer, needed * 2);
        if (bigger == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        *buffer = bigger;
        *buffer_size = needed * 2;
    }
    char *key = *buffer;
    size_t host_length = 0;
    for (size_t i = host_start; i < host_end; i++) {
        if (url[i] == '.' && (host_length == 0 || key[host_length - 1] == '.')) continue;
        key[host_length++] = url[i];
    }
    while (host_length > 0 && key[host_length - 1] == '.') host_length--;
    if (host_length == 0) return 1; /* no host: nothing can match */

    /* host suffixes: the host, then after each dot (an IP address is only itself) */
    size_t suffixes[MAX_LABELS];
    int suffix_count = 1;
    suffixes[0] = 0;
    uint32_t ipv4 = 0;
    int is_ipv4 = parse_ipv4(key, host_length, &ipv4);
    if (!is_ipv4 && key[0] != '[') {
        for (size_t i = 0; i < host_length && suffix_count < MAX_LABELS; i++)
            if (key[i] == '.') suffixes[suffix_count++] = i + 1;
    }

    /* host-level entries, and which suffixes carry URL entries */
    int url_host[MAX_LABELS];
    int any_url_host = 0;
    for (int s = 0; s < suffix_count; s++) {
        size_t start = suffixes[s];
        size_t length = host_length - start;
        url_host[s] = 0;
        int32_t index = table_lookup(&self->hosts, key + start, length);
        if (index < 0) continue;
        const HostInfo *info = &self->host_info[index];
        char saved = key[host_length];
        key[host_length] = '/';
        if (info->any_group >= 0 && hits_add(hits, row, info->any_group, key + start, length + 1) < 0) return -1;
        if (s == 0 && info->exact_group >= 0 && hits_add(hits, row, info->exact_group, key, length + 1) < 0)
            return -1;
        key[host_length] = saved;
        url_host[s] = info->url_host;
        any_url_host |= info->url_host;
    }

    /* IPv4 ranges */
    if (is_ipv4) {
        for (Py_ssize_t r = 0; r < self->range_count; r++)
            if (self->ranges[r].low <= ipv4 && ipv4 <= self->ranges[r].high)
                if (hits_add(hits, row, self->ranges[r].group, key, host_length) < 0) return -1;
    }

    if (!any_url_host && self->hash_tables == 0) return 1;

    /* path expressions, as lengths over pq: the path with its query, the path, every prefix ending in '/' */
    size_t paths[MAX_PATHS];
    int path_count = 0;
    if (has_query) paths[path_count++] = pq_length;
    paths[path_count++] = path_length;
    for (size_t i = 0; i < path_length && path_count < MAX_PATHS; i++)
        if (pq[i] == '/' && i + 1 != path_length) paths[path_count++] = i + 1;

    unsigned char digests[3][32];
    for (int s = 0; s < suffix_count; s++) {
        size_t start = suffixes[s];
        size_t length = host_length - start;
        /* like Safe Browsing, a top-level domain alone is not hashed */
        int hash_this = self->hash_tables > 0 && (s == 0 || s + 1 < suffix_count); /* the last suffix is the TLD */
        if (!hash_this && !url_host[s]) continue;
        for (int p = 0; p < path_count; p++) {
            memcpy(key + host_length, pq, paths[p]);
            const char *expression = key + start;
            size_t expression_length = length + paths[p];
            int32_t group;
            if (url_host[s]) {
                group = table_lookup(&self->urls, expression, expression_length);
                if (group >= 0 && hits_add(hits, row, group, expression, expression_length) < 0) return -1;
            }
            if (!hash_this) continue;
            for (int k = 0; k < 3; k++)
                if (self->digest_used[k]) digest_of(k, expression, expression_length, digests[k]);
            for (int t = 0; t < self->hash_tables; t++) {
                HashTable *table = &self->hashes[t];
                group = table_lookup(&table->table, (const char *)digests[table->kind], (size_t)table->prefix);
                if (group >= 0 && hits_add(hits, row, group, expression, expression_length) < 0) return -1;
            }
        }
    }
    return 1;
}

/* match((offsets, data, count, wide), base_row, canonical)
 *     -> (rows int64 bytes, groups int32 bytes, expression offsets int32 bytes, expression data bytes,
 *         python_rows list)
 * canonical: the paths are already Safe Browsing canonical (escapes and all): never defer to Python. */
static PyObject *Matcher_match(Matcher *self, PyObject *args) {
    PyObject *spec;
    long long base_row;
    int canonical;
    if (!PyArg_ParseTuple(args, "OLp", &spec, &base_row, &canonical)) return NULL;
    Column urls;
    if (column_get(spec, &urls) < 0) return NULL;
    PyObject *result = NULL, *python_rows = PyList_New(0);
    Hits hits = {0};
    size_t buffer_size = 4096;
    char *buffer = PyMem_Malloc(buffer_size);
    if (python_rows == NULL || buffer == NULL) goto done;
    for (Py_ssize_t i = 0; i < urls.count; i++) {
        const char *url;
        size_t length;
        if (column_value(&urls, i, &url, &length) < 0) {
            PyErr_SetString(PyExc_ValueError, "URL offsets out of the data buffer");
            goto done;
        }
        int outcome = match_one(self, url, length, base_row + i, &hits, &buffer, &buffer_size, canonical);
        if (outcome < 0) {
            if (!PyErr_Occurred()) PyErr_NoMemory();
            goto done;
        }
        if (outcome == 0) {
            PyObject *number = PyLong_FromLongLong(base_row + i);
            if (number == NULL || PyList_Append(python_rows, number) < 0) {
                Py_XDECREF(number);
                goto done;
            }
            Py_DECREF(number);
        }
    }
    int32_t zero = 0;
    PyObject *rows = PyBytes_FromStringAndSize((const char *)hits.rows, (Py_ssize_t)(hits.count * sizeof(int64_t)));
    PyObject *groups = PyBytes_FromStringAndSize((const char *)hits.groups,
                                                 (Py_ssize_t)(hits.count * sizeof(int32_t)));
    PyObject *offsets = PyBytes_FromStringAndSize(hits.count ? (const char *)hits.offsets : (const char *)&zero,
                                                  (Py_ssize_t)((hits.count + 1) * sizeof(int32_t)));
    PyObject *text = PyBytes_FromStringAndSize(hits.text ? hits.text : "", (Py_ssize_t)hits.text_length);
    if (rows && groups && offsets && text) result = PyTuple_Pack(5, rows, groups, offsets, text, python_rows);
    Py_XDECREF(rows);
    Py_XDECREF(groups);
    Py_XDECREF(offsets);
    Py_XDECREF(text);
done:
    column_release(&urls);
    PyMem_Free(buffer);
    hits_free(&hits);
    Py_XDECREF(python_rows);
    if (result == NULL && !PyErr_Occurred()) PyErr_NoMemory();
    return result;
}

static PyMethodDef Matcher_methods[] = {
    {"set_hosts", (PyCFunction)Matcher_set_hosts, METH_VARARGS,
     "set_hosts((offsets, data, count, wide), any_groups, exact_groups, url_host)"},
    {"set_urls", (PyCFunction)Matcher_set_urls, METH_VARARGS, "set_urls((offsets, data, count, wide), groups)"},
    {"add_hash_table", (PyCFunction)Matcher_add_hash_table, METH_VARARGS,
     "add_hash_table(algorithm, prefix_bytes, (offsets, data, count, wide), groups)"},
    {"set_ranges", (PyCFunction)Matcher_set_ranges, METH_VARARGS, "set_ranges([(low, high, group), ...])"},
    {"match", (PyCFunction)Matcher_match, METH_VARARGS,
     "match((offsets, data, count, wide), base_row, canonical) -> (rows, groups, offsets, text, python_rows)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject MatcherType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pipelines.matching._fastmatch.Matcher",
    .tp_basicsize = sizeof(Matcher),
    .tp_dealloc = (destructor)Matcher_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Hash tables of list expressions; match() runs over an Arrow string column's buffers.",
    .tp_methods = Matcher_methods,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastmatch", "Compiled inner loop of the bulk matcher.",
                                    -1, NULL};

PyMODINIT_FUNC PyInit__fastmatch(void) {
    load_libcrypto();
    if (PyType_Ready(&MatcherType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&MatcherType);
    if (PyModule_AddObject(m, "Matcher", (PyObject *)&MatcherType) < 0) {
        Py_DECREF(&MatcherType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "HASHES_AVAILABLE", hashes_available) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
