/*
 * crawler.corpus._fastlinks: the link extraction of crawler/corpus/html_links.py in one pass over the HTML
 * text, in C (optional: html_links uses selectolax/lexbor when this module is not built).
 *
 * lexbor builds a whole DOM to answer a handful of questions: which elements with URL attributes exist (in
 * the document and inside <template> contents), the first <base href>, the text of <style> elements, the
 * style attributes, and the text nodes under <body>. This module answers the same questions while it
 * tokenizes like an HTML5 parser, keeping only the tree-construction state that decides the answers: the
 * insertion mode, the stack of open elements, the list of active formatting elements (whose clones repeat
 * an <a href> or a style attribute), and for each open element whether its last child is a text node (new
 * text merges into it, which decides where a bare URL in text ends). The tree builder follows the WHATWG
 * algorithm as lexbor implements it, including the 2025 <select> parsing (no "in select" modes).
 *
 * Where lexbor departs from the WHATWG text, this module follows lexbor (each found by comparing the two):
 * <select> is a scope boundary; an <image> reached through a table mode's "anything else" is dropped; the
 * text of a <textarea> goes through the current insertion mode (so formatting elements are reconstructed in
 * it); "in table" takes <form> inside templates, reads every type attribute of <input> (duplicates too) and
 * sends text to "in table text" only below table, tbody, tfoot, thead and tr; "in column group" has no
 * DOCTYPE rule; an empty system identifier counts as missing when choosing quirks mode; the adoption agency
 * keeps a plain index as bookmark, and a <nobr> start tag it cannot adopt closes the open <nobr>.
 *
 * SVG is modelled too (inline icons are common): lexbor's selectors match elements by local name, so an
 * <a href> or a <style> inside <svg> counts like an HTML one. So is MathML (formulas of encyclopedia pages),
 * with its integration points: mi, mo, mn, ms and mtext take HTML, annotation-xml an <svg>, or HTML when its
 * encoding is text/html or application/xhtml+xml. Pages using what it does not model (<plaintext>,
 * <frameset>, NUL bytes, markup inside an SVG <style>, two <base href> that disagree, lone
 * surrogates) get a fallback reason instead of links, and the caller parses them with lexbor.
 * tests/crawler/corpus/test_fast_links.py compares both paths on hand-written, generated and real pages.
 *
 * Hostile pages: the standard's algorithm walks the stack of open elements (or the active formatting
 * elements, or a tag's attributes) once per token, which some nestings make quadratic, in lexbor too. Every
 * such walk counts as work (STEP); a page whose tree costs more than its budget stops with "budget", and its
 * links come from the tokenizer alone (scan 2, soup_process). Scan 1 (lenient) takes what needs lexbor as best
 * it can, for pages too large to risk lexbor's worst case on.
 *
 * links(html, document_url, scan=0, budget=-1, max_links=-1) -> [(kind, raw_url, resolved_url)] | reason
 *     In lexbor's order: element links, template links level by level, CSS of <style> elements, CSS of
 *     style attributes, bare URLs of the body text. URLs are resolved against the first <base href> outside
 *     templates (or the document URL) by pipelines.urls.whatwg.Resolver's shortcut (ALREADY_NORMAL and _joined),
 *     ported here; the links it does not take go to a Resolver. CSS, text and meta refresh values are handed
 *     to html_links.py's functions, so that those rules are written once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------------- */
/* tags                                                                                                 */

enum {
    T_OTHER, T_A, T_ADDRESS, T_APPLET, T_AREA, T_ARTICLE, T_ASIDE, T_AUDIO, T_B, T_BASE, T_BASEFONT,
    T_BGSOUND, T_BIG, T_BLOCKQUOTE, T_BODY, T_BR, T_BUTTON, T_CAPTION, T_CENTER, T_CODE, T_COL, T_COLGROUP,
    T_DD, T_DETAILS, T_DIALOG, T_DIR, T_DIV, T_DL, T_DT, T_EM, T_EMBED, T_FIELDSET, T_FIGCAPTION,
    T_FIGURE, T_FONT, T_FOOTER, T_FORM, T_FRAME, T_FRAMESET, T_H1, T_H2, T_H3, T_H4, T_H5, T_H6, T_HEAD,
    T_HEADER, T_HGROUP, T_HR, T_HTML, T_I, T_IFRAME, T_IMAGE, T_IMG, T_INPUT, T_KEYGEN, T_LI, T_LINK,
    T_LISTING, T_MAIN, T_MARQUEE, T_MATH, T_MENU, T_META, T_NAV, T_NOBR, T_NOEMBED, T_NOFRAMES, T_NOSCRIPT,
    T_OBJECT, T_OL, T_OPTGROUP, T_OPTION, T_P, T_PARAM, T_PLAINTEXT, T_PRE, T_RB, T_RP, T_RT, T_RTC,
    T_RUBY, T_S, T_SCRIPT, T_SEARCH, T_SECTION, T_SELECT, T_SMALL, T_SOURCE, T_SPAN, T_STRIKE, T_STRONG,
    T_STYLE, T_SUB, T_SUMMARY, T_SUP, T_SVG, T_TABLE, T_TBODY, T_TD, T_TEMPLATE, T_TEXTAREA, T_TFOOT, T_TH,
    T_THEAD, T_TITLE, T_TR, T_TRACK, T_TT, T_U, T_UL, T_VAR, T_VIDEO, T_WBR, T_XMP,
    T_HTML_COUNT,
    /* SVG and MathML elements the tree builder tells apart (the others are T_OTHER); never the id of a tag
       token. T_SVG_STYLE and T_SVG_SCRIPT stand for the <style> and <script> of either; T_MATH_TEXT_POINT for
       mi, mo, mn, ms and mtext; T_MATH_ANNOTATION_HTML for an annotation-xml whose encoding is HTML */
    T_SVG_FOREIGNOBJECT = T_HTML_COUNT, T_SVG_DESC, T_SVG_TITLE, T_SVG_STYLE, T_SVG_SCRIPT, T_MATH_TEXT_POINT,
    T_MATH_ANNOTATION_XML, T_MATH_ANNOTATION_HTML, T_COUNT
};

static const char *TAG_NAMES[T_COUNT] = {
    "", "a", "address", "applet", "area", "article", "aside", "audio", "b", "base", "basefont",
    "bgsound", "big", "blockquote", "body", "br", "button", "caption", "center", "code", "col", "colgroup",
    "dd", "details", "dialog", "dir", "div", "dl", "dt", "em", "embed", "fieldset", "figcaption",
    "figure", "font", "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head",
    "header", "hgroup", "hr", "html", "i", "iframe", "image", "img", "input", "keygen", "li", "link",
    "listing", "main", "marquee", "math", "menu", "meta", "nav", "nobr", "noembed", "noframes", "noscript",
    "object", "ol", "optgroup", "option", "p", "param", "plaintext", "pre", "rb", "rp", "rt", "rtc",
    "ruby", "s", "script", "search", "section", "select", "small", "source", "span", "strike", "strong",
    "style", "sub", "summary", "sup", "svg", "table", "tbody", "td", "template", "textarea", "tfoot", "th",
    "thead", "title", "tr", "track", "tt", "u", "ul", "var", "video", "wbr", "xmp",
    "foreignobject", "desc", "title", "style", "script", "mi", "annotation-xml", "annotation-xml",
};

#define F_SPECIAL 1     /* "special" category: stops the any-other-end-tag walk, furthest block */
#define F_SCOPE 2       /* boundary of the default scope */
#define F_FORMATTING 4  /* formatting element: kept in the active formatting list */
#define F_IMPLIED 8     /* closed by "generate implied end tags" */
#define F_THOROUGH 16   /* closed by "generate all implied end tags thoroughly" */
#define F_TABLEISH 32   /* table, tbody, tfoot, thead, tr: foster parenting targets */
#define F_BREAKOUT 64   /* a start tag that ends SVG content (with <font color|face|size>, and </br>, </p>) */

static unsigned char TAG_FLAGS[T_COUNT];

static void init_tag_flags(void) {
    static const int special[] = {
        T_ADDRESS, T_APPLET, T_AREA, T_ARTICLE, T_ASIDE, T_BASE, T_BASEFONT, T_BGSOUND, T_BLOCKQUOTE,
        T_BODY, T_BR, T_BUTTON, T_CAPTION, T_CENTER, T_COL, T_COLGROUP, T_DD, T_DETAILS, T_DIR, T_DIV,
        T_DL, T_DT, T_EMBED, T_FIELDSET, T_FIGCAPTION, T_FIGURE, T_FOOTER, T_FORM, T_FRAME, T_FRAMESET,
        T_H1, T_H2, T_H3, T_H4, T_H5, T_H6, T_HEAD, T_HEADER, T_HGROUP, T_HR, T_HTML, T_IFRAME, T_IMG,
        T_INPUT, T_KEYGEN, T_LI, T_LINK, T_LISTING, T_MAIN, T_MARQUEE, T_MENU, T_META, T_NAV, T_NOEMBED,
        T_NOFRAMES, T_NOSCRIPT, T_OBJECT, T_OL, T_P, T_PARAM, T_PLAINTEXT, T_PRE, T_SCRIPT, T_SEARCH,
        T_SECTION, T_SELECT, T_SOURCE, T_STYLE, T_SUMMARY, T_TABLE, T_TBODY, T_TD, T_TEMPLATE, T_TEXTAREA,
        T_TFOOT, T_TH, T_THEAD, T_TITLE, T_TR, T_TRACK, T_UL, T_WBR, T_XMP,
    };
    /* lexbor's select parsing makes <select> a scope boundary: "</div>" inside it leaves an outer div open */
    static const int scope[] = {T_APPLET, T_CAPTION, T_HTML, T_TABLE, T_TD, T_TH, T_MARQUEE, T_OBJECT,
                                T_TEMPLATE, T_SELECT};
    static const int formatting[] = {T_A, T_B, T_BIG, T_CODE, T_EM, T_FONT, T_I, T_NOBR, T_S, T_SMALL,
                                     T_STRIKE, T_STRONG, T_TT, T_U};
    static const int implied[] = {T_DD, T_DT, T_LI, T_OPTGROUP, T_OPTION, T_P, T_RB, T_RP, T_RT, T_RTC};
    static const int thorough[] = {T_CAPTION, T_COLGROUP, T_TBODY, T_TD, T_TFOOT, T_TH, T_THEAD, T_TR};
    static const int tableish[] = {T_TABLE, T_TBODY, T_TFOOT, T_THEAD, T_TR};
    static const int breakout[] = {T_B, T_BIG, T_BLOCKQUOTE, T_BODY, T_BR, T_CENTER, T_CODE, T_DD, T_DIV, T_DL,
                                   T_DT, T_EM, T_EMBED, T_H1, T_H2, T_H3, T_H4, T_H5, T_H6, T_HEAD, T_HR, T_I,
                                   T_IMG, T_LI, T_LISTING, T_MENU, T_META, T_NOBR, T_OL, T_P, T_PRE, T_RUBY, T_S,
                                   T_SMALL, T_SPAN, T_STRONG, T_STRIKE, T_SUB, T_SUP, T_TABLE, T_TT, T_U, T_UL, T_VAR};
    /* the HTML integration points of SVG, and MathML's mi, mo, mn, ms, mtext and annotation-xml, are special and
       bound the default scope */
    static const int svg_points[] = {T_SVG_FOREIGNOBJECT,   T_SVG_DESC,            T_SVG_TITLE,
                                     T_MATH_TEXT_POINT,     T_MATH_ANNOTATION_XML, T_MATH_ANNOTATION_HTML};
    size_t i;
    for (i = 0; i < sizeof(special) / sizeof(int); i++) TAG_FLAGS[special[i]] |= F_SPECIAL;
    for (i = 0; i < sizeof(scope) / sizeof(int); i++) TAG_FLAGS[scope[i]] |= F_SCOPE;
    for (i = 0; i < sizeof(formatting) / sizeof(int); i++) TAG_FLAGS[formatting[i]] |= F_FORMATTING;
    for (i = 0; i < sizeof(implied) / sizeof(int); i++) TAG_FLAGS[implied[i]] |= F_IMPLIED | F_THOROUGH;
    for (i = 0; i < sizeof(thorough) / sizeof(int); i++) TAG_FLAGS[thorough[i]] |= F_THOROUGH;
    for (i = 0; i < sizeof(tableish) / sizeof(int); i++) TAG_FLAGS[tableish[i]] |= F_TABLEISH;
    for (i = 0; i < sizeof(breakout) / sizeof(int); i++) TAG_FLAGS[breakout[i]] |= F_BREAKOUT;
    for (i = 0; i < sizeof(svg_points) / sizeof(int); i++) TAG_FLAGS[svg_points[i]] |= F_SPECIAL | F_SCOPE;
}

static inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static int ascii_ieq(const unsigned char *a, const unsigned char *b, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i])) return 0;
    return 1;
}

/* tag names by hash (FNV-1a of the lowercase name): one probe for most names, instead of a binary search */
#define TAG_SLOTS 512
static unsigned char TAG_TABLE[TAG_SLOTS];
static unsigned char TAG_NAME_LENS[T_COUNT]; /* strlen(TAG_NAMES[tag]) */

static inline uint32_t tag_hash(const unsigned char *low, Py_ssize_t n) {
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ low[i]) * 16777619u;
    return h & (TAG_SLOTS - 1);
}

static void init_tag_table(void) {
    for (int tag = 1; tag < T_HTML_COUNT; tag++) {
        TAG_NAME_LENS[tag] = (unsigned char)strlen(TAG_NAMES[tag]);
        uint32_t h = tag_hash((const unsigned char *)TAG_NAMES[tag], TAG_NAME_LENS[tag]);
        while (TAG_TABLE[h]) h = (h + 1) & (TAG_SLOTS - 1);
        TAG_TABLE[h] = (unsigned char)tag;
    }
}

/* The tag id of a tag name as written (ASCII case-insensitive), T_OTHER for names without special rules. */
static int tag_id(const unsigned char *name, Py_ssize_t n) {
    unsigned char low[12];
    if (n == 0 || n > 10) return T_OTHER;
    for (Py_ssize_t i = 0; i < n; i++) low[i] = lower(name[i]);
    for (uint32_t h = tag_hash(low, n); TAG_TABLE[h]; h = (h + 1) & (TAG_SLOTS - 1)) {
        /* lengths first: memcmp of n bytes must not read past a shorter name's literal (ASan: global overflow
           for "textarea" probing the slot of "applet") */
        if (TAG_NAME_LENS[TAG_TABLE[h]] == n && memcmp(TAG_NAMES[TAG_TABLE[h]], low, n) == 0) return TAG_TABLE[h];
    }
    return T_OTHER;
}

/* ---------------------------------------------------------------------------------------------------- */
/* configuration handed over by html_links.py at import time (init)                                     */

#define MAX_ATTR_NAMES 40
#define MAX_TAG_URLS 8

/* the attribute names the extraction reads, and their ids (index + 1; 0 is any other attribute) */
static char *ATTR_NAMES[MAX_ATTR_NAMES];
static Py_ssize_t ATTR_LENS[MAX_ATTR_NAMES];
static int n_attr_names;
static int A_STYLE, A_HREF, A_HTTP_EQUIV, A_CONTENT, A_TYPE, A_COLOR, A_FACE, A_SIZE;

/* per tag: the (attribute, kind) pairs of URL_ATTRIBUTES and the srcset attributes of SRCSET_ATTRIBUTES */
typedef struct {
    int n_urls, url_attr[MAX_TAG_URLS], url_kind[MAX_TAG_URLS];
    int n_srcsets, srcset_attr[MAX_TAG_URLS];
} TagUrls;
static TagUrls TAG_URLS[T_COUNT];
static PyObject *KINDS;          /* tuple of kind strings, indexed by url_kind */
static PyObject *SRCSET_KIND;    /* "srcset" */
static PyObject *CSS_PAIRS;      /* css text -> [(kind, raw)] */
static PyObject *TEXT_PAIRS;     /* [body text node] -> [(kind, raw)] */
static PyObject *REFRESH_PAIR;   /* (http-equiv, content) -> (kind, raw) | None */
static PyObject *RESOLVER;       /* pipelines.urls.whatwg.Resolver: base_url -> raw_url -> resolved_url */
static char *SKIPPED[16];        /* SKIPPED_PREFIXES, lowercase ASCII */
static Py_ssize_t SKIPPED_LENS[16];
static int n_skipped;
static int configured;

static int attr_id(const unsigned char *name, Py_ssize_t n) {
    for (int i = 0; i < n_attr_names; i++)
        if (ATTR_LENS[i] == n && ascii_ieq(name, (const unsigned char *)ATTR_NAMES[i], n)) return i + 1;
    return 0;
}

static int intern_attr(const char *name, Py_ssize_t n) {
    int id = attr_id((const unsigned char *)name, n);
    if (id) return id;
    if (n_attr_names == MAX_ATTR_NAMES) return -1;
    ATTR_NAMES[n_attr_names] = (char *)PyMem_RawMalloc(n + 1);
    if (ATTR_NAMES[n_attr_names] == NULL) return -1;
    for (Py_ssize_t i = 0; i < n; i++) ATTR_NAMES[n_attr_names][i] = (char)lower((unsigned char)name[i]);
    ATTR_NAMES[n_attr_names][n] = 0;
    ATTR_LENS[n_attr_names] = n;
    return ++n_attr_names;
}

/* ---------------------------------------------------------------------------------------------------- */
/* named character references (html.entities.html5), in an open-addressing hash table                    */

typedef struct {
    const char *name;
    int name_len;
    const char *value;
    int value_len;
} Entity;

static Entity *ENTITIES;
static int *ENTITY_SLOTS; /* index + 1 into ENTITIES, 0 = empty */
static int entity_slot_mask;
static int entity_max_len;

static uint32_t fnv1a(const unsigned char *p, Py_ssize_t n) {
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static const Entity *entity_lookup(const unsigned char *p, Py_ssize_t n) {
    if (n > entity_max_len || ENTITY_SLOTS == NULL) return NULL;
    uint32_t h = fnv1a(p, n) & (uint32_t)entity_slot_mask;
    while (ENTITY_SLOTS[h]) {
        const Entity *e = &ENTITIES[ENTITY_SLOTS[h] - 1];
        if (e->name_len == n && memcmp(e->name, p, n) == 0) return e;
        h = (h + 1) & (uint32_t)entity_slot_mask;
    }
    return NULL;
}

static int load_entities(PyObject *table) {
    Py_ssize_t count = PyDict_Size(table), pos = 0, i = 0;
    PyObject *key, *value;
    int slots = 1;
    while (slots < count * 2) slots <<= 1;
    ENTITIES = (Entity *)PyMem_RawCalloc(count ? count : 1, sizeof(Entity));
    ENTITY_SLOTS = (int *)PyMem_RawCalloc(slots, sizeof(int));
    if (ENTITIES == NULL || ENTITY_SLOTS == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    entity_slot_mask = slots - 1;
    while (PyDict_Next(table, &pos, &key, &value)) {
        Py_ssize_t nlen, vlen;
        const char *name = PyUnicode_AsUTF8AndSize(key, &nlen);
        const char *val = name ? PyUnicode_AsUTF8AndSize(value, &vlen) : NULL;
        if (val == NULL) return -1;
        char *copy = (char *)PyMem_RawMalloc(nlen + vlen + 2);
        if (copy == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(copy, name, nlen);
        copy[nlen] = 0;
        memcpy(copy + nlen + 1, val, vlen);
        copy[nlen + 1 + vlen] = 0;
        ENTITIES[i] = (Entity){copy, (int)nlen, copy + nlen + 1, (int)vlen};
        if (nlen > entity_max_len) entity_max_len = (int)nlen;
        uint32_t h = fnv1a((const unsigned char *)copy, nlen) & (uint32_t)entity_slot_mask;
        while (ENTITY_SLOTS[h]) h = (h + 1) & (uint32_t)entity_slot_mask;
        ENTITY_SLOTS[h] = (int)(i + 1);
        i++;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------------- */
/* parser state                                                                                         */

typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buf;

/* A string: a slice of the input (src 0) or of the arena of decoded text (src 1); src -1 is None. */
typedef struct {
    Py_ssize_t off, len;
    int src;
} Ref;

enum { CTX_OUT, CTX_BODY, CTX_TMPL }; /* head/html or raw script text; under <body>; template contents */

enum { NS_HTML, NS_SVG, NS_MATH };

typedef struct {
    int tag;                   /* T_*: the tree builder's view (T_OTHER for most SVG elements) */
    int link_tag;              /* the T_* of its name: lexbor's selectors match <svg><a href> like <a href> */
    unsigned char ns;
    int css_node;              /* SVG <style>: the text node collecting its CSS, else -1 */
    const unsigned char *name; /* as written in the input */
    Py_ssize_t name_len;
    int lc;                    /* text node id of the last child, -1 when the last child is no text */
    int prev;                  /* text node id of the previous sibling (read for tables), -1 if none */
    unsigned char ctx, child_ctx, on_stack;
    int level, child_level;    /* template nesting of the element and of its children */
    int link_first, link_count; /* what a clone of this formatting element repeats: these links... */
    Ref css;                    /* ...and its style attribute (src -1: none with URLs) */
    uint64_t attr_hash;        /* names and values of all attributes, for the Noah's Ark clause */
    int n_attrs;
} Elem;

typedef struct {
    int kind;  /* index into KINDS, KIND_SRCSET or KIND_META */
    int level; /* template nesting: lexbor lists document links first, then templates level by level */
    Ref raw, extra;
} Item;
#define KIND_SRCSET -1
#define KIND_META -2

typedef struct {
    int head, tail;
    int counted; /* 1: under <body>, so its text is scanned for bare URLs; 2: the CSS of an SVG <style> */
} TextNode;

typedef struct {
    Ref text;
    int next;
} TextRun;

typedef struct {
    const unsigned char *name;
    Py_ssize_t name_len;
    const unsigned char *value;
    Py_ssize_t value_len;
    int id;
    int has_value;
} Attr;

enum { TK_START, TK_END, TK_TEXT, TK_COMMENT, TK_DOCTYPE, TK_EOF };

typedef struct {
    int type, tag;
    const unsigned char *name;
    Py_ssize_t name_len;
    int attr_first, attr_count;
    int self_closing;
    int hidden; /* <input> with a type="hidden" attribute, duplicates included (lexbor reads them all) */
    Ref text;
    int quirks;
} Token;

enum {
    M_INITIAL, M_BEFORE_HTML, M_BEFORE_HEAD, M_IN_HEAD, M_IN_HEAD_NOSCRIPT, M_AFTER_HEAD, M_IN_BODY, M_TEXT,
    M_IN_TABLE, M_IN_TABLE_TEXT, M_IN_CAPTION, M_IN_COLUMN_GROUP, M_IN_TABLE_BODY, M_IN_ROW, M_IN_CELL,
    M_IN_TEMPLATE, M_AFTER_BODY, M_AFTER_AFTER_BODY
};

enum { TS_DATA, TS_RCDATA, TS_RAWTEXT, TS_SCRIPT };

typedef struct {
    const unsigned char *in;
    Py_ssize_t n;
    jmp_buf fail;
    const char *reason;
    int no_memory;

    Buf arena;
    Elem *elems;
    int n_elems, cap_elems;
    int *stack;
    int depth, cap_stack;
    int max_depth; /* the deepest the stack got (lexbor's tree builder walks it per start tag) */
    int *afe; /* -1 is a marker */
    int n_afe, cap_afe;
    int *tmpl_modes;
    int n_tmpl_modes, cap_tmpl_modes;
    int templates_open; /* template elements on the stack */
    int open_count[T_COUNT]; /* elements of each tag on the stack: a scope check for a tag none is open of is
                                answered at once (walking the stack made deeply nested pages quadratic) */
    long long scope_steps;   /* work: stack and list entries looked at or moved, elements created (tests check
                                that it stays linear; past `budget` the scan stops with "budget") */
    long long budget;
    unsigned int attr_seen[MAX_ATTR_NAMES + 1]; /* = attr_mark: the known attribute was seen in this tag */
    unsigned int attr_mark;
    int soup;    /* the tokenizer alone, no tree (see soup_process) */
    int soup_foreign; /* <svg> and <math> start tags not yet ended, in soup */
    Py_ssize_t tag_end; /* where the start tag being processed ends */
    Py_ssize_t soup_style_end; /* where the CSS of the last <style> taken ends, in soup */
    int soup_css_node;  /* 1 + the text node collecting the text of <style> elements as CSS, in soup; 0: none */
    int soup_saw_foreign; /* an <svg> or <math> start tag was met, in soup */
    int soup_keep_style; /* the next </style> is one only HTML reads (see soup_resume), in soup */
    Py_ssize_t soup_css_from; /* text before this offset is in a comment SVG reads over a </style>, in soup */
    Py_ssize_t soup_raw_end; /* where the text of the last outermost <style>, <title>, ... ends in HTML, in soup */
    Py_ssize_t soup_rescanned; /* bytes the tokenizer went back over (see soup_resume) */
    /* per tag, in soup: where the latest search for its raw text's end started, and the end it found */
    Py_ssize_t soup_text_from[T_COUNT], soup_text_end[T_COUNT];
    int lenient; /* what otherwise needs lexbor (<frameset>, <plaintext>, ...) is taken as best it can: for pages
                    too large to risk lexbor's worst case on */
    Attr *attrs;
    int n_attrs, cap_attrs;
    Item *items;
    int n_items, cap_items, max_level;
    Ref *style_texts, *style_attrs;
    int n_style_texts, cap_style_texts, n_style_attrs, cap_style_attrs;
    TextNode *nodes;
    int n_nodes, cap_nodes;
    TextRun *runs;
    int n_runs, cap_runs;
    Ref *pending; /* in table text */
    int n_pending, cap_pending, pending_nonspace;

    int mode, original_mode, tok_state;
    int foster, quirks, form_open, head_elem, html_has_style, body_has_style;
    int skip_newline; /* after <pre>, <listing>, <textarea>: a newline starting the next text is dropped */
    int base_seen;
    Ref base_href;
} Parser;

static void fail(Parser *P, const char *reason) {
    P->reason = reason;
    longjmp(P->fail, 1);
}

/* `k` units of work; a page whose tree costs more than its budget stops the scan (the standard's algorithm is
   quadratic on some nestings, lexbor's too) */
#define STEP(P, k)                                                                                             \
    do {                                                                                                       \
        if (((P)->scope_steps += (k)) > (P)->budget) fail((P), "budget");                                      \
    } while (0)

static void out_of_memory(Parser *P) {
    P->no_memory = 1;
    fail(P, "memory");
}

static void *grow(Parser *P, void *array, int *cap, size_t item) {
    int next = *cap ? *cap * 2 : 32;
    void *bigger = realloc(array, (size_t)next * item);
    if (bigger == NULL) out_of_memory(P);
    *cap = next;
    return bigger;
}
#define RESERVE(P, arr, n, cap)                                                                            \
    do {                                                                                                   \
        if ((n) >= (cap)) (arr) = grow((P), (arr), &(cap), sizeof(*(arr)));                               \
    } while (0)

static void buf_reserve(Parser *P, Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap) return;
    Py_ssize_t next = b->cap ? b->cap * 2 : 4096;
    while (next < b->len + extra) next *= 2;
    char *bigger = realloc(b->data, next);
    if (bigger == NULL) out_of_memory(P);
    b->data = bigger;
    b->cap = next;
}

static inline const unsigned char *ref_ptr(Parser *P, Ref r) {
    return r.src == 0 ? P->in + r.off : (const unsigned char *)P->arena.data + r.off;
}

#define E(i) (&P->elems[i])

/* ---------------------------------------------------------------------------------------------------- */
/* text helpers                                                                                          */

static inline int is_space(unsigned char c) { /* ASCII whitespace as the tokenizer sees it (CR is LF) */
    return c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\r';
}
static inline int is_alpha(unsigned char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static inline int is_alnum(unsigned char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

/* str.isspace() of a code point: what Python's str.strip() and srcset_candidates skip */
static inline int py_space(uint32_t c) {
    if (c < 128) return (c >= 9 && c <= 13) || (c >= 28 && c <= 32);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The code point at p (valid UTF-8, as PyUnicode_AsUTF8 gives) and its length in bytes. */
static inline uint32_t utf8_at(const unsigned char *p, int *size) {
    if (p[0] < 0x80) {
        *size = 1;
        return p[0];
    }
    if (p[0] < 0xE0) {
        *size = 2;
        return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    }
    if (p[0] < 0xF0) {
        *size = 3;
        return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    *size = 4;
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
           (p[3] & 0x3F);
}

/* Whether the code point ending at p[end-1] is whitespace; its first byte offset goes to *start. */
static inline int py_space_before(const unsigned char *p, Py_ssize_t end, Py_ssize_t *start) {
    Py_ssize_t s = end - 1;
    while (s > 0 && (p[s] & 0xC0) == 0x80) s--;
    int size;
    uint32_t c = utf8_at(p + s, &size);
    *start = s;
    return py_space(c);
}

static Ref strip_ref(Parser *P, Ref r) { /* str.strip() */
    const unsigned char *p = ref_ptr(P, r);
    Py_ssize_t a = 0, b = r.len, s;
    int size;
    while (a < b && py_space(utf8_at(p + a, &size))) a += size;
    while (b > a && py_space_before(p, b, &s)) b = s;
    r.off += a;
    r.len = b - a;
    return r;
}

static int is_skipped(const unsigned char *p, Py_ssize_t n) {
    for (int i = 0; i < n_skipped; i++)
        if (n >= SKIPPED_LENS[i] && ascii_ieq(p, (const unsigned char *)SKIPPED[i], SKIPPED_LENS[i])) return 1;
    return 0;
}

static void put_utf8(Parser *P, uint32_t c) {
    buf_reserve(P, &P->arena, 4);
    char *o = P->arena.data + P->arena.len;
    if (c < 0x80) {
        o[0] = (char)c;
        P->arena.len += 1;
    } else if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        P->arena.len += 2;
    } else if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        P->arena.len += 3;
    } else {
        o[0] = (char)(0xF0 | (c >> 18));
        o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[3] = (char)(0x80 | (c & 0x3F));
        P->arena.len += 4;
    }
}

static void put_bytes(Parser *P, const unsigned char *p, Py_ssize_t n) {
    if (n <= 0) return; /* a fresh arena has data == NULL: memcpy(NULL, p, 0) is undefined (UBSan) */
    buf_reserve(P, &P->arena, n);
    memcpy(P->arena.data + P->arena.len, p, n);
    P->arena.len += n;
}

/* numeric character references 0x80-0x9F, as windows-1252 (0 = left as is) */
static const uint16_t C1_REPLACEMENTS[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,
    0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
    0x0153, 0, 0x017E, 0x0178,
};

/*
 * The text of p[0:n] with character references decoded as the tokenizer does in text (attribute = 0) or in
 * an attribute value (attribute = 1), and CR / CR LF made LF (the input stream preprocessing).
 */
static Ref decode(Parser *P, const unsigned char *p, Py_ssize_t n, int attribute) {
    Ref r = {P->arena.len, 0, 1};
    Py_ssize_t i = 0, run = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c == '\r') {
            put_bytes(P, p + run, i - run);
            put_utf8(P, '\n');
            i += (i + 1 < n && p[i + 1] == '\n') ? 2 : 1;
            run = i;
            continue;
        }
        if (c != '&') {
            i++;
            continue;
        }
        put_bytes(P, p + run, i - run);
        run = i;
        Py_ssize_t j = i + 1;
        if (j < n && p[j] == '#') {
            Py_ssize_t k = j + 1;
            int hex = k < n && (p[k] | 32) == 'x';
            if (hex) k++;
            Py_ssize_t digits = k;
            uint32_t value = 0;
            while (k < n) {
                unsigned char d = p[k];
                int v;
                if (d >= '0' && d <= '9') v = d - '0';
                else if (hex && (d | 32) >= 'a' && (d | 32) <= 'f') v = (d | 32) - 'a' + 10;
                else break;
                value = value * (hex ? 16 : 10) + v;
                if (value > 0x10FFFF) value = 0x110000; /* saturate: only "too large" matters */
                k++;
            }
            if (k == digits) { /* "&#" or "&#x" without digits: left as written */
                i = k;
                continue;
            }
            if (k < n && p[k] == ';') k++;
            if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) value = 0xFFFD;
            else if (value >= 0x80 && value <= 0x9F && C1_REPLACEMENTS[value - 0x80])
                value = C1_REPLACEMENTS[value - 0x80];
            put_utf8(P, value);
            i = run = k;
            continue;
        }
        /* named: the longest prefix of [alnum]*;? that is in the table */
        Py_ssize_t k = j;
        while (k < n && k - j < entity_max_len && is_alnum(p[k])) k++;
        Py_ssize_t longest = k - j + (k < n && p[k] == ';' ? 1 : 0);
        const Entity *found = NULL;
        Py_ssize_t length;
        for (length = longest; length > 0; length--) {
            found = entity_lookup(p + j, length);
            if (found) break;
        }
        if (found == NULL) { /* no reference: "&" and what follows stay as written */
            i = j;
            continue;
        }
        Py_ssize_t after = j + length;
        if (attribute && p[after - 1] != ';' && after < n && (p[after] == '=' || is_alnum(p[after]))) {
            i = after; /* "&copy=" in an attribute is left as written, for historical reasons */
            continue;
        }
        put_bytes(P, (const unsigned char *)found->value, found->value_len);
        i = run = after;
    }
    put_bytes(P, p + run, n - run);
    r.len = P->arena.len - r.off;
    return r;
}

/* A value as the DOM holds it: decoded only when it has something to decode. */
static Ref text_ref(Parser *P, const unsigned char *p, Py_ssize_t n, int attribute) {
    int plain = 1;
    if (n < 64) { /* short values: a loop costs less than two memchr calls */
        for (Py_ssize_t i = 0; i < n; i++)
            if (p[i] == '&' || p[i] == '\r') {
                plain = 0;
                break;
            }
    } else {
        plain = memchr(p, '&', n) == NULL && memchr(p, '\r', n) == NULL;
    }
    return plain ? (Ref){p - P->in, n, 0} : decode(P, p, n, attribute);
}

/* ---------------------------------------------------------------------------------------------------- */
/* elements, text nodes and outputs                                                                     */

static int new_text_node(Parser *P, int counted) {
    RESERVE(P, P->nodes, P->n_nodes, P->cap_nodes);
    P->nodes[P->n_nodes] = (TextNode){-1, -1, counted};
    return P->n_nodes++;
}

static void add_run(Parser *P, int node, Ref text) {
    TextNode *t = &P->nodes[node];
    if (!t->counted || text.len == 0) return;
    RESERVE(P, P->runs, P->n_runs, P->cap_runs);
    P->runs[P->n_runs] = (TextRun){text, -1};
    if (t->tail < 0) t->head = P->n_runs;
    else P->runs[t->tail].next = P->n_runs;
    t->tail = P->n_runs++;
}

/* Where a node goes: appended to `parent`, or (foster parenting) right before the table `before`. */
typedef struct {
    int parent, before;
} Place;

static int stack_last(Parser *P, int tag) {
    if (P->open_count[tag] == 0) return -1;
    for (int i = P->depth - 1; i >= 0; i--) {
        STEP(P, 1);
        if (E(P->stack[i])->tag == tag) return i;
    }
    return -1;
}

/* "The appropriate place for inserting a node", with `target` as the override target. */
static Place place_for(Parser *P, int target) {
    if (P->foster && (TAG_FLAGS[E(target)->tag] & F_TABLEISH)) {
        int table = stack_last(P, T_TABLE), tmpl = stack_last(P, T_TEMPLATE);
        if (tmpl >= 0 && (table < 0 || tmpl > table)) return (Place){P->stack[tmpl], -1};
        if (table < 0) return (Place){P->stack[0], -1};
        return (Place){-1, P->stack[table]};
    }
    return (Place){target, -1};
}

static void insert_text_at(Parser *P, Place at, Ref text) {
    if (at.before >= 0) {
        Elem *table = E(at.before);
        if (table->prev < 0) table->prev = new_text_node(P, table->ctx == CTX_BODY);
        add_run(P, table->prev, text);
        return;
    }
    Elem *parent = E(at.parent);
    if (parent->lc < 0) parent->lc = new_text_node(P, parent->child_ctx == CTX_BODY);
    add_run(P, parent->lc, text);
}

static void insert_text(Parser *P, Ref text) {
    if (text.len) insert_text_at(P, place_for(P, P->stack[P->depth - 1]), text);
}

/* A node (element or comment) goes to `at`: the text node before it no longer takes new text. */
static void take_place(Parser *P, Place at, int *ctx, int *level, int *prev) {
    if (at.before >= 0) {
        Elem *table = E(at.before);
        *ctx = table->ctx;
        *level = table->level;
        *prev = table->prev;
        table->prev = -1;
    } else {
        Elem *parent = E(at.parent);
        *ctx = parent->child_ctx;
        *level = parent->child_level;
        *prev = parent->lc;
        parent->lc = -1;
    }
}

static void insert_comment(Parser *P) {
    int ctx, level, prev;
    take_place(P, place_for(P, P->stack[P->depth - 1]), &ctx, &level, &prev);
}

static void push(Parser *P, int e) {
    RESERVE(P, P->stack, P->depth, P->cap_stack);
    P->stack[P->depth++] = e;
    if (P->depth > P->max_depth) P->max_depth = P->depth;
    E(e)->on_stack = 1;
    P->open_count[E(e)->tag]++;
    if (E(e)->tag == T_TEMPLATE) P->templates_open++;
}

static void pop(Parser *P) {
    if (P->depth <= 1) fail(P, "stack"); /* <html> stays: a modelling error becomes a fallback, not a crash */
    int e = P->stack[--P->depth];
    E(e)->on_stack = 0;
    P->open_count[E(e)->tag]--;
    if (E(e)->tag == T_TEMPLATE) P->templates_open--;
}

static void stack_remove_at(Parser *P, int i) {
    STEP(P, P->depth - i);
    int e = P->stack[i];
    E(e)->on_stack = 0;
    P->open_count[E(e)->tag]--;
    if (E(e)->tag == T_TEMPLATE) P->templates_open--;
    memmove(&P->stack[i], &P->stack[i + 1], (size_t)(P->depth - i - 1) * sizeof(int));
    P->depth--;
}

static int stack_index(Parser *P, int e) {
    for (int i = P->depth - 1; i >= 0; i--) {
        STEP(P, 1);
        if (P->stack[i] == e) return i;
    }
    return -1;
}

static inline int current(Parser *P) {
    if (P->depth == 0) fail(P, "stack");
    return P->stack[P->depth - 1];
}
static inline int current_tag(Parser *P) { return P->depth ? E(current(P))->tag : T_OTHER; }

static void add_item(Parser *P, int kind, int level, Ref raw, Ref extra) {
    RESERVE(P, P->items, P->n_items, P->cap_items);
    P->items[P->n_items++] = (Item){kind, level, raw, extra};
    if (level > P->max_level) P->max_level = level;
}

/* css_urls finds nothing without "url(" or "@import" (ASCII case-insensitive): such CSS is not handed over. */
static int has_css_url(const unsigned char *p, Py_ssize_t n) {
    const unsigned char *at = p, *end = p + n;
    while ((at = memchr(at, '(', end - at)) != NULL) {
        if (at - p >= 3 && ascii_ieq(at - 3, (const unsigned char *)"url", 3)) return 1;
        at++;
    }
    for (at = p; (at = memchr(at, '@', end - at)) != NULL; at++)
        if (end - at >= 7 && ascii_ieq(at + 1, (const unsigned char *)"import", 6)) return 1;
    return 0;
}

static void add_style_attr(Parser *P, Ref css) {
    if (css.len == 0 || !has_css_url(ref_ptr(P, css), css.len)) return;
    RESERVE(P, P->style_attrs, P->n_style_attrs, P->cap_style_attrs);
    P->style_attrs[P->n_style_attrs++] = css;
}

static Attr *token_attr(Parser *P, const Token *t, int id) {
    for (int i = 0; i < t->attr_count; i++)
        if (P->attrs[t->attr_first + i].id == id) return &P->attrs[t->attr_first + i];
    return NULL;
}

static Ref attr_ref(Parser *P, const Attr *a) { return text_ref(P, a->value, a->value_len, 1); }

/* srcset_candidates of html_links.py, on UTF-8 */
static void add_srcset(Parser *P, Ref value, int level) {
    const unsigned char *p = ref_ptr(P, value);
    Py_ssize_t n = value.len, pos = 0;
    int size;
    while (pos < n) {
        while (pos < n && (p[pos] == ',' || py_space(utf8_at(p + pos, &size)))) pos += (p[pos] == ',') ? 1 : size;
        Py_ssize_t start = pos;
        while (pos < n && !py_space(utf8_at(p + pos, &size))) pos += size;
        if (pos == start) break;
        Py_ssize_t end = pos;
        int trailing_comma = p[end - 1] == ',';
        while (end > start && p[end - 1] == ',') end--;
        Ref url = {value.off + start, end - start, value.src};
        if (!is_skipped(p + start, end - start)) add_item(P, KIND_SRCSET, level, url, (Ref){0, 0, -1});
        if (trailing_comma) continue;
        int depth = 0;
        while (pos < n) { /* the descriptors, up to a comma outside parentheses */
            unsigned char c = p[pos];
            if (c == '(') depth++;
            else if (c == ')') depth = depth > 0 ? depth - 1 : 0;
            else if (c == ',' && depth == 0) {
                pos++;
                break;
            }
            pos++;
        }
    }
}

static uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* A 64-bit hash of bytes, eight at a time. */
static uint64_t hash_bytes(const unsigned char *p, Py_ssize_t n, uint64_t h) {
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
    }
    uint64_t tail = 0;
    memcpy(&tail, p + i, n - i);
    return mix64(h ^ tail ^ ((uint64_t)n << 56));
}

/* The links an element's own attributes give (URL_ATTRIBUTES, SRCSET_ATTRIBUTES, meta, base, style). */
static void element_links(Parser *P, int e, const Token *t) {
    Elem *el = E(e);
    int tag = el->link_tag, level = el->level;
    const TagUrls *spec = &TAG_URLS[tag];
    el->link_first = P->n_items;
    for (int i = 0; i < spec->n_urls; i++) {
        Attr *a = token_attr(P, t, spec->url_attr[i]);
        if (a == NULL || !a->has_value || a->value_len == 0) continue;
        Ref raw = strip_ref(P, attr_ref(P, a));
        if (raw.len && !is_skipped(ref_ptr(P, raw), raw.len)) add_item(P, spec->url_kind[i], level, raw, raw);
    }
    for (int i = 0; i < spec->n_srcsets; i++) {
        Attr *a = token_attr(P, t, spec->srcset_attr[i]);
        if (a && a->has_value && a->value_len) add_srcset(P, attr_ref(P, a), level);
    }
    if (tag == T_META) {
        Attr *equiv = token_attr(P, t, A_HTTP_EQUIV);
        if (equiv) {
            Attr *content = token_attr(P, t, A_CONTENT);
            Ref none = {0, 0, -1};
            Ref e_ref = equiv->has_value ? attr_ref(P, equiv) : none;
            Ref c_ref = content && content->has_value ? attr_ref(P, content) : none;
            add_item(P, KIND_META, level, e_ref, c_ref);
        }
    }
    el->link_count = P->n_items - el->link_first;
    Attr *style = token_attr(P, t, A_STYLE);
    if (style && style->has_value && style->value_len) {
        Ref css = attr_ref(P, style);
        if (has_css_url(ref_ptr(P, css), css.len)) E(e)->css = css;
    }
    el = E(e);
    if (el->ctx == CTX_TMPL) return; /* lexbor's "style" and "[style]" queries do not reach template contents */
    if (el->css.src >= 0) add_style_attr(P, el->css);
    if (tag == T_BASE) {
        Attr *href = token_attr(P, t, A_HREF);
        if (href) {
            Ref value = href->has_value ? attr_ref(P, href) : (Ref){0, 0, 0};
            if (!P->base_seen) {
                P->base_seen = 1;
                P->base_href = value;
            } else if (!P->lenient && (value.len != P->base_href.len ||
                                       memcmp(ref_ptr(P, value), ref_ptr(P, P->base_href), value.len) != 0)) {
                fail(P, "base"); /* the first in tree order is not always the first in the source */
            }
        }
    }
}

/* A new element for token `t` (or a clone of `like`), inserted at `at`; not pushed. */
static int create_element_ns(Parser *P, Place at, int tag, int link_tag, int ns, const Token *t, int like) {
    STEP(P, 1);
    RESERVE(P, P->elems, P->n_elems, P->cap_elems);
    int e = P->n_elems++;
    Elem *el = E(e);
    memset(el, 0, sizeof(*el));
    int ctx, level, prev;
    take_place(P, at, &ctx, &level, &prev);
    el = E(e);
    el->tag = tag;
    el->link_tag = link_tag;
    el->ns = (unsigned char)ns;
    el->css_node = -1;
    el->lc = -1;
    el->prev = prev;
    el->ctx = (unsigned char)ctx;
    el->level = level;
    if (tag == T_TEMPLATE) el->child_ctx = CTX_TMPL;
    else if (link_tag == T_SCRIPT || link_tag == T_STYLE || (ns != NS_HTML && link_tag == T_TEMPLATE))
        el->child_ctx = ctx == CTX_TMPL ? CTX_TMPL : CTX_OUT; /* strip_tags drops them, SVG ones too, with text */
    else if (tag == T_BODY) el->child_ctx = CTX_BODY;
    else el->child_ctx = (unsigned char)ctx;
    el->child_level = tag == T_TEMPLATE ? level + 1 : level;
    el->css = (Ref){0, 0, -1};
    if (like >= 0) { /* a clone: same name and attributes, so the same links once more */
        Elem *src = E(like);
        el->name = src->name;
        el->name_len = src->name_len;
        el->attr_hash = src->attr_hash;
        el->n_attrs = src->n_attrs;
        el->link_first = P->n_items;
        for (int i = 0; i < src->link_count; i++) {
            Item item = P->items[src->link_first + i];
            add_item(P, item.kind, level, item.raw, item.extra);
        }
        el = E(e);
        el->link_count = P->n_items - el->link_first;
        el->css = E(like)->css;
        if (el->css.src >= 0 && ctx != CTX_TMPL) add_style_attr(P, el->css);
        return e;
    }
    if (t != NULL) {
        el->name = t->name;
        el->name_len = t->name_len;
        element_links(P, e, t);
        if (TAG_FLAGS[tag] & F_FORMATTING) { /* order-free hash of (name, value) pairs, as lexbor compares */
            uint64_t h = 0;
            for (int i = 0; i < t->attr_count; i++) {
                Attr *a = &P->attrs[t->attr_first + i];
                Py_ssize_t mark = P->arena.len;
                uint64_t ah = 1469598103934665603ULL;
                for (Py_ssize_t k = 0; k < a->name_len; k++) ah = (ah ^ lower(a->name[k])) * 1099511628211ULL;
                ah = (ah ^ (a->has_value ? 0x1ff : 0x2ff)) * 1099511628211ULL;
                if (a->has_value) {
                    Ref v = attr_ref(P, a);
                    ah = hash_bytes(ref_ptr(P, v), v.len, ah);
                }
                P->arena.len = mark; /* the decoded value is not kept */
                h += mix64(ah);
            }
            el = E(e);
            el->attr_hash = h;
            el->n_attrs = t->attr_count;
        }
    } else {
        el->name = (const unsigned char *)TAG_NAMES[tag];
        el->name_len = (Py_ssize_t)strlen(TAG_NAMES[tag]);
        el->link_first = P->n_items;
    }
    return e;
}

static int create_element(Parser *P, Place at, int tag, const Token *t, int like) {
    return create_element_ns(P, at, tag, tag, NS_HTML, t, like);
}

/* "Insert an HTML element" for `t` (NULL: an element without attributes, as for implied tags). */
static int insert_element(Parser *P, int tag, const Token *t) {
    int e = create_element(P, place_for(P, current(P)), tag, t, -1);
    push(P, e);
    return e;
}

static int name_is(const Token *t, const char *name) {
    Py_ssize_t n = (Py_ssize_t)strlen(name);
    return t->name_len == n && ascii_ieq(t->name, (const unsigned char *)name, n);
}

/* An annotation-xml start tag whose encoding attribute is text/html or application/xhtml+xml (ASCII case-
   insensitive): an HTML integration point. */
static int html_encoding(Parser *P, const Token *t) {
    for (int i = 0; i < t->attr_count; i++) {
        Attr *a = &P->attrs[t->attr_first + i];
        if (a->name_len != 8 || !ascii_ieq(a->name, (const unsigned char *)"encoding", 8) || !a->has_value) continue;
        Py_ssize_t mark = P->arena.len;
        Ref v = attr_ref(P, a);
        const unsigned char *p = ref_ptr(P, v);
        int html = (v.len == 9 && ascii_ieq(p, (const unsigned char *)"text/html", 9)) ||
                   (v.len == 21 && ascii_ieq(p, (const unsigned char *)"application/xhtml+xml", 21));
        P->arena.len = mark;
        return html; /* the first encoding attribute counts (the tokenizer drops repeats) */
    }
    return 0;
}

/* "Insert a foreign element" for `t` in namespace `ns` (SVG or MathML); pushed. */
static int insert_foreign(Parser *P, const Token *t, int ns) {
    int tag = T_OTHER;
    if (t->tag == T_STYLE) tag = T_SVG_STYLE;
    else if (t->tag == T_SCRIPT) tag = T_SVG_SCRIPT;
    else if (ns == NS_SVG) {
        if (t->tag == T_SVG) tag = T_SVG;
        else if (t->tag == T_TITLE) tag = T_SVG_TITLE;
        else if (name_is(t, "desc")) tag = T_SVG_DESC;
        else if (name_is(t, "foreignobject")) tag = T_SVG_FOREIGNOBJECT;
    } else if (name_is(t, "mi") || name_is(t, "mo") || name_is(t, "mn") || name_is(t, "ms") || name_is(t, "mtext")) {
        tag = T_MATH_TEXT_POINT;
    } else if (name_is(t, "annotation-xml")) {
        tag = html_encoding(P, t) ? T_MATH_ANNOTATION_HTML : T_MATH_ANNOTATION_XML;
    }
    int e = create_element_ns(P, place_for(P, current(P)), tag, t->tag, ns, t, -1);
    if (tag == T_SVG_STYLE && E(e)->ctx != CTX_TMPL) { /* its CSS is its text, in document order */
        int node = new_text_node(P, 2);
        E(e)->css_node = node;
        RESERVE(P, P->style_texts, P->n_style_texts, P->cap_style_texts);
        P->style_texts[P->n_style_texts++] = (Ref){node, 0, 3};
    }
    push(P, e);
    return e;
}

/* ---------------------------------------------------------------------------------------------------- */
/* stack of open elements, scopes, active formatting elements                                            */

enum { SC_DEFAULT, SC_LIST, SC_BUTTON, SC_TABLE };

static inline int scope_boundary(int tag, int kind) {
    if (kind == SC_TABLE) return tag == T_HTML || tag == T_TABLE || tag == T_TEMPLATE;
    if (TAG_FLAGS[tag] & F_SCOPE) return 1;
    if (kind == SC_LIST) return tag == T_OL || tag == T_UL;
    if (kind == SC_BUTTON) return tag == T_BUTTON;
    return 0;
}

static int in_scope(Parser *P, int tag, int kind) {
    if (P->open_count[tag] == 0) return 0;
    for (int i = P->depth - 1; i >= 0; i--) {
        STEP(P, 1);
        int t = E(P->stack[i])->tag;
        if (t == tag) return 1;
        if (scope_boundary(t, kind)) return 0;
    }
    return 0;
}

static int heading_in_scope(Parser *P) {
    int open = 0;
    for (int t = T_H1; t <= T_H6; t++) open += P->open_count[t];
    if (open == 0) return 0;
    for (int i = P->depth - 1; i >= 0; i--) {
        STEP(P, 1);
        int t = E(P->stack[i])->tag;
        if (t >= T_H1 && t <= T_H6) return 1;
        if (scope_boundary(t, SC_DEFAULT)) return 0;
    }
    return 0;
}

static int element_in_scope(Parser *P, int e) {
    if (!E(e)->on_stack) return 0;
    for (int i = P->depth - 1; i >= 0; i--) {
        STEP(P, 1);
        if (P->stack[i] == e) return 1;
        if (scope_boundary(E(P->stack[i])->tag, SC_DEFAULT)) return 0;
    }
    return 0;
}

static void pop_until(Parser *P, int tag) {
    while (P->depth > 0) {
        int t = current_tag(P);
        pop(P);
        if (t == tag) return;
    }
}

static void pop_until_heading(Parser *P) {
    while (P->depth > 0) {
        int t = current_tag(P);
        pop(P);
        if (t >= T_H1 && t <= T_H6) return;
    }
}

static void generate_implied(Parser *P, int except) {
    while (P->depth && (TAG_FLAGS[current_tag(P)] & F_IMPLIED) && current_tag(P) != except) pop(P);
}

static void generate_implied_thoroughly(Parser *P) {
    while (P->depth && (TAG_FLAGS[current_tag(P)] & F_THOROUGH)) pop(P);
}

static void close_p(Parser *P) {
    generate_implied(P, T_P);
    pop_until(P, T_P);
}

static void afe_remove_at(Parser *P, int i) {
    STEP(P, P->n_afe - i);
    memmove(&P->afe[i], &P->afe[i + 1], (size_t)(P->n_afe - i - 1) * sizeof(int));
    P->n_afe--;
}

static int afe_index(Parser *P, int e) {
    for (int i = P->n_afe - 1; i >= 0; i--) {
        STEP(P, 1);
        if (P->afe[i] == e) return i;
    }
    return -1;
}

static void afe_insert(Parser *P, int at, int e) {
    STEP(P, P->n_afe - at + 1);
    RESERVE(P, P->afe, P->n_afe, P->cap_afe);
    memmove(&P->afe[at + 1], &P->afe[at], (size_t)(P->n_afe - at) * sizeof(int));
    P->afe[at] = e;
    P->n_afe++;
}

static void afe_push_marker(Parser *P) { afe_insert(P, P->n_afe, -1); }

static void afe_clear_to_marker(Parser *P) {
    while (P->n_afe > 0) {
        int e = P->afe[--P->n_afe];
        if (e < 0) return;
    }
}

/* Push onto the active formatting elements, after the Noah's Ark clause (at most three alike). */
static void afe_push(Parser *P, int e) {
    int count = 0, earliest = -1;
    Elem *el = E(e);
    for (int i = P->n_afe - 1; i >= 0; i--) {
        STEP(P, 1);
        int x = P->afe[i];
        if (x < 0) break;
        if (E(x)->tag == el->tag && E(x)->attr_hash == el->attr_hash && E(x)->n_attrs == el->n_attrs) {
            count++;
            earliest = i;
        }
    }
    if (count >= 3) afe_remove_at(P, earliest);
    afe_insert(P, P->n_afe, e);
}

static void reconstruct(Parser *P) {
    if (P->n_afe == 0) return;
    int i = P->n_afe - 1;
    if (P->afe[i] < 0 || E(P->afe[i])->on_stack) return;
    while (i > 0) {
        STEP(P, 1);
        i--;
        if (P->afe[i] < 0 || E(P->afe[i])->on_stack) {
            i++;
            break;
        }
    }
    for (; i < P->n_afe; i++) {
        int clone = create_element(P, place_for(P, current(P)), E(P->afe[i])->tag, NULL, P->afe[i]);
        push(P, clone);
        P->afe[i] = clone;
    }
}

static int same_name(Parser *P, int e, const Token *t) {
    Elem *el = E(e);
    if (el->ns != NS_HTML) return 0;
    if (t->tag != T_OTHER) return el->tag == t->tag;
    return el->tag == T_OTHER && el->name_len == t->name_len && ascii_ieq(el->name, t->name, t->name_len);
}

static void any_other_end_tag(Parser *P, const Token *t) {
    for (int i = P->depth - 1; i >= 0; i--) {
        STEP(P, 1);
        int e = P->stack[i];
        if (same_name(P, e, t)) {
            while (P->depth - 1 > i && (TAG_FLAGS[current_tag(P)] & F_IMPLIED) && !same_name(P, current(P), t))
                pop(P);
            while (P->depth > i) pop(P);
            return;
        }
        if (TAG_FLAGS[E(e)->tag] & F_SPECIAL) return;
    }
}

/*
 * The adoption agency algorithm as lexbor runs it, which departs from the WHATWG text in two ways that
 * change the tree (and so the number of <a href> clones): the bookmark is an index that does not move when
 * entries before it leave the list, and the formatting element is removed by the index it had when the
 * round began. Returns 0 when the token is to be handled as "any other end tag" instead.
 */
static int adoption_agency(Parser *P, int subject) {
    int cur = current(P);
    if (E(cur)->tag == subject && afe_index(P, cur) < 0) {
        pop(P);
        return 1;
    }
    for (int outer = 0; outer < 8; outer++) {
        int fi = -1;
        for (int i = P->n_afe - 1; i >= 0 && P->afe[i] >= 0; i--) {
            STEP(P, 1);
            if (E(P->afe[i])->tag == subject) {
                fi = i;
                break;
            }
        }
        if (fi < 0) return 0;
        int fe = P->afe[fi];
        int si = stack_index(P, fe);
        if (si < 0) {
            afe_remove_at(P, fi);
            return 1;
        }
        if (!element_in_scope(P, fe)) return 1;
        int fb_si = -1;
        for (int i = si + 1; i < P->depth; i++) {
            STEP(P, 1);
            if (TAG_FLAGS[E(P->stack[i])->tag] & F_SPECIAL) {
                fb_si = i;
                break;
            }
        }
        if (fb_si < 0) {
            while (P->depth > si) pop(P);
            afe_remove_at(P, afe_index(P, fe));
            return 1;
        }
        int fb = P->stack[fb_si];
        int ca = P->stack[si - 1];
        int bookmark = fi;
        int node_si = fb_si, last = fb;
        for (int inner = 1;; inner++) {
            STEP(P, 1);
            node_si--;
            int node = P->stack[node_si];
            if (node == fe) break;
            int ni = afe_index(P, node);
            if (inner > 3 && ni >= 0) {
                afe_remove_at(P, ni); /* the bookmark stays where it is */
                ni = -1;
            }
            if (ni < 0) {
                stack_remove_at(P, node_si);
                continue;
            }
            /* the clone goes with last node under common ancestor: its context is the common ancestor's */
            Place inside = {ca, -1};
            int saved_lc = E(ca)->lc;
            int clone = create_element(P, inside, E(node)->tag, NULL, node);
            E(ca)->lc = saved_lc; /* not a child of the common ancestor yet: the chain is placed below */
            P->afe[ni] = clone;
            E(node)->on_stack = 0;
            P->stack[node_si] = clone;
            E(clone)->on_stack = 1;
            if (last == fb) bookmark = ni + 1;
            E(clone)->lc = -1; /* last node becomes its only child */
            E(last)->prev = -1;
            last = clone;
        }
        int ctx, level, prev;
        take_place(P, place_for(P, ca), &ctx, &level, &prev);
        E(last)->prev = prev;
        Place into_fb = {fb, -1};
        int fb_lc = E(fb)->lc;
        int clone = create_element(P, into_fb, E(fe)->tag, NULL, fe);
        E(clone)->lc = fb_lc; /* the children of furthest block move into the clone */
        E(fb)->lc = -1;
        if (fi < P->n_afe) afe_remove_at(P, fi);
        if (bookmark > P->n_afe) bookmark = P->n_afe;
        afe_insert(P, bookmark, clone);
        stack_remove_at(P, stack_index(P, fe));
        int at = stack_index(P, fb) + 1;
        STEP(P, P->depth - at);
        RESERVE(P, P->stack, P->depth, P->cap_stack);
        memmove(&P->stack[at + 1], &P->stack[at], (size_t)(P->depth - at) * sizeof(int));
        P->stack[at] = clone;
        P->depth++;
        E(clone)->on_stack = 1;
        P->open_count[E(clone)->tag]++;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------------------- */
/* tree construction                                                                                    */

static void reset_mode(Parser *P) {
    for (int i = P->depth - 1; i >= 0; i--) {
        STEP(P, 1);
        int last = i == 0, tag = E(P->stack[i])->tag;
        switch (tag) {
        case T_TD:
        case T_TH:
            if (!last) {
                P->mode = M_IN_CELL;
                return;
            }
            break;
        case T_TR: P->mode = M_IN_ROW; return;
        case T_TBODY:
        case T_THEAD:
        case T_TFOOT: P->mode = M_IN_TABLE_BODY; return;
        case T_CAPTION: P->mode = M_IN_CAPTION; return;
        case T_COLGROUP: P->mode = M_IN_COLUMN_GROUP; return;
        case T_TABLE: P->mode = M_IN_TABLE; return;
        case T_TEMPLATE: P->mode = P->tmpl_modes[P->n_tmpl_modes - 1]; return;
        case T_HEAD:
            if (!last) {
                P->mode = M_IN_HEAD;
                return;
            }
            break;
        case T_BODY: P->mode = M_IN_BODY; return;
        case T_HTML: P->mode = P->head_elem < 0 ? M_BEFORE_HEAD : M_AFTER_HEAD; return;
        }
        if (last) {
            P->mode = M_IN_BODY;
            return;
        }
    }
}

static void push_tmpl_mode(Parser *P, int mode) {
    RESERVE(P, P->tmpl_modes, P->n_tmpl_modes, P->cap_tmpl_modes);
    P->tmpl_modes[P->n_tmpl_modes++] = mode;
}

static void raw_text_element(Parser *P, int tag, const Token *t, int state) {
    insert_element(P, tag, t);
    P->tok_state = state;
    P->original_mode = P->mode;
    P->mode = M_TEXT;
}

static Py_ssize_t leading_space(Parser *P, Ref text) {
    const unsigned char *p = ref_ptr(P, text);
    Py_ssize_t i = 0;
    while (i < text.len && is_space(p[i])) i++;
    return i;
}

/* Splits the leading whitespace off a text token: returns it and leaves the rest (maybe nothing) in `t`. */
static Ref take_leading_space(Parser *P, Token *t) {
    Py_ssize_t k = leading_space(P, t->text);
    Ref space = {t->text.off, k, t->text.src};
    t->text.off += k;
    t->text.len -= k;
    return space;
}

static void merge_style(Parser *P, const Token *t, int *has_style) {
    Attr *style = token_attr(P, t, A_STYLE);
    if (style == NULL || *has_style) return;
    *has_style = 1;
    if (style->has_value && style->value_len) add_style_attr(P, attr_ref(P, style));
}

static void create_html(Parser *P, const Token *t) {
    RESERVE(P, P->elems, P->n_elems, P->cap_elems);
    int e = P->n_elems++;
    memset(E(e), 0, sizeof(Elem));
    E(e)->tag = T_HTML;
    E(e)->name = (const unsigned char *)"html";
    E(e)->name_len = 4;
    E(e)->lc = E(e)->prev = E(e)->css_node = -1;
    E(e)->link_tag = T_HTML;
    E(e)->css = (Ref){0, 0, -1};
    E(e)->ctx = E(e)->child_ctx = CTX_OUT;
    push(P, e);
    if (t) merge_style(P, t, &P->html_has_style);
}

static int step(Parser *P, Token *t);

static int in_head(Parser *P, Token *t);
static int in_body(Parser *P, Token *t);

/* The leading whitespace of a text token inserted, or processed using the rules for "in body", the rest left in
   the token; 1 when nothing is left of it. */
static int insert_leading_space(Parser *P, Token *t, int using_in_body) {
    Ref space = take_leading_space(P, t);
    if (space.len) {
        if (using_in_body) in_body(P, &(Token){.type = TK_TEXT, .text = space});
        else insert_text(P, space);
    }
    return t->text.len == 0;
}

static void end_template(Parser *P) {
    if (P->templates_open == 0) return;
    generate_implied_thoroughly(P);
    pop_until(P, T_TEMPLATE);
    afe_clear_to_marker(P);
    P->n_tmpl_modes--;
    reset_mode(P);
}

static int in_head(Parser *P, Token *t) {
    switch (t->type) {
    case TK_TEXT:
        if (insert_leading_space(P, t, 0)) return 1;
        break;
    case TK_COMMENT: insert_comment(P); return 1;
    case TK_DOCTYPE: return 1;
    case TK_START:
        switch (t->tag) {
        case T_HTML: return in_body(P, t);
        case T_BASE:
        case T_BASEFONT:
        case T_BGSOUND:
        case T_LINK:
        case T_META: insert_element(P, t->tag, t); pop(P); return 1;
        case T_TITLE: raw_text_element(P, T_TITLE, t, TS_RCDATA); return 1;
        case T_NOSCRIPT: insert_element(P, T_NOSCRIPT, t); P->mode = M_IN_HEAD_NOSCRIPT; return 1;
        case T_NOFRAMES:
        case T_STYLE: raw_text_element(P, t->tag, t, TS_RAWTEXT); return 1;
        case T_SCRIPT: raw_text_element(P, T_SCRIPT, t, TS_SCRIPT); return 1;
        case T_TEMPLATE:
            insert_element(P, T_TEMPLATE, t);
            afe_push_marker(P);
            P->mode = M_IN_TEMPLATE;
            push_tmpl_mode(P, M_IN_TEMPLATE);
            return 1;
        case T_HEAD: return 1;
        }
        break;
    case TK_END:
        switch (t->tag) {
        case T_HEAD: pop(P); P->mode = M_AFTER_HEAD; return 1;
        case T_BODY:
        case T_HTML:
        case T_BR: break;
        case T_TEMPLATE: end_template(P); return 1;
        default: return 1;
        }
        break;
    case TK_EOF: break;
    }
    pop(P); /* the head element */
    P->mode = M_AFTER_HEAD;
    return 0;
}

static int in_body_start(Parser *P, Token *t) {
    int tag = t->tag;
    switch (tag) {
    case T_HTML:
        if (P->templates_open == 0) merge_style(P, t, &P->html_has_style);
        return 1;
    case T_BASE:
    case T_BASEFONT:
    case T_BGSOUND:
    case T_LINK:
    case T_META:
    case T_NOFRAMES:
    case T_SCRIPT:
    case T_STYLE:
    case T_TEMPLATE:
    case T_TITLE: return in_head(P, t);
    case T_BODY:
        if (P->depth < 2 || E(P->stack[1])->tag != T_BODY || P->templates_open) return 1;
        merge_style(P, t, &P->body_has_style);
        return 1;
    case T_ADDRESS:
    case T_ARTICLE:
    case T_ASIDE:
    case T_BLOCKQUOTE:
    case T_CENTER:
    case T_DETAILS:
    case T_DIALOG:
    case T_DIR:
    case T_DIV:
    case T_DL:
    case T_FIELDSET:
    case T_FIGCAPTION:
    case T_FIGURE:
    case T_FOOTER:
    case T_HEADER:
    case T_HGROUP:
    case T_MAIN:
    case T_MENU:
    case T_NAV:
    case T_OL:
    case T_P:
    case T_SEARCH:
    case T_SECTION:
    case T_SUMMARY:
    case T_UL:
        if (in_scope(P, T_P, SC_BUTTON)) close_p(P);
        insert_element(P, tag, t);
        return 1;
    case T_PRE:
    case T_LISTING:
        if (in_scope(P, T_P, SC_BUTTON)) close_p(P);
        insert_element(P, tag, t);
        P->skip_newline = 1;
        return 1;
    case T_H1:
    case T_H2:
    case T_H3:
    case T_H4:
    case T_H5:
    case T_H6:
        if (in_scope(P, T_P, SC_BUTTON)) close_p(P);
        if (current_tag(P) >= T_H1 && current_tag(P) <= T_H6) pop(P);
        insert_element(P, tag, t);
        return 1;
    case T_FORM:
        if (P->form_open && P->templates_open == 0) return 1;
        if (in_scope(P, T_P, SC_BUTTON)) close_p(P);
        insert_element(P, T_FORM, t);
        if (P->templates_open == 0) P->form_open = 1;
        return 1;
    case T_LI:
    case T_DD:
    case T_DT:
        for (int i = P->depth - 1; i >= 0; i--) {
            STEP(P, 1);
            int nt = E(P->stack[i])->tag;
            if ((tag == T_LI && nt == T_LI) || (tag != T_LI && (nt == T_DD || nt == T_DT))) {
                generate_implied(P, nt);
                pop_until(P, nt);
                break;
            }
            if ((TAG_FLAGS[nt] & F_SPECIAL) && nt != T_ADDRESS && nt != T_DIV && nt != T_P) break;
        }
        if (in_scope(P, T_P, SC_BUTTON)) close_p(P);
        insert_element(P, tag, t);
        return 1;
    case T_BUTTON:
        if (in_scope(P, T_BUTTON, SC_DEFAULT)) {
            generate_implied(P, -1);
            pop_until(P, T_BUTTON);
        }
        reconstruct(P);
        insert_element(P, T_BUTTON, t);
        return 1;
    case T_A:
        for (int i = P->n_afe - 1; i >= 0 && P->afe[i] >= 0; i--) {
            STEP(P, 1);
            int a = P->afe[i];
            if (E(a)->tag == T_A) {
                if (!adoption_agency(P, T_A)) any_other_end_tag(P, t);
                int k = afe_index(P, a);
                if (k >= 0) afe_remove_at(P, k);
                /* on_stack first: the adoption agency has mostly popped it already, and a stack walk per
                   <a> is quadratic on "<b><i><a href=x>" repeated */
                k = E(a)->on_stack ? stack_index(P, a) : -1;
                if (k >= 0) stack_remove_at(P, k);
                break;
            }
        }
        reconstruct(P);
        afe_push(P, insert_element(P, T_A, t));
        return 1;
    case T_B:
    case T_BIG:
    case T_CODE:
    case T_EM:
    case T_FONT:
    case T_I:
    case T_S:
    case T_SMALL:
    case T_STRIKE:
    case T_STRONG:
    case T_TT:
    case T_U:
        reconstruct(P);
        afe_push(P, insert_element(P, tag, t));
        return 1;
    case T_NOBR:
        reconstruct(P);
        if (in_scope(P, T_NOBR, SC_DEFAULT)) {
            if (!adoption_agency(P, T_NOBR)) any_other_end_tag(P, t); /* lexbor closes the open <nobr> */
            reconstruct(P);
        }
        afe_push(P, insert_element(P, T_NOBR, t));
        return 1;
    case T_APPLET:
    case T_MARQUEE:
    case T_OBJECT:
        reconstruct(P);
        insert_element(P, tag, t);
        afe_push_marker(P);
        return 1;
    case T_TABLE:
        if (!P->quirks && in_scope(P, T_P, SC_BUTTON)) close_p(P);
        insert_element(P, T_TABLE, t);
        P->mode = M_IN_TABLE;
        return 1;
    case T_AREA:
    case T_BR:
    case T_EMBED:
    case T_IMG:
    case T_KEYGEN:
    case T_WBR:
        reconstruct(P);
        insert_element(P, tag, t);
        pop(P);
        return 1;
    case T_INPUT:
        if (in_scope(P, T_SELECT, SC_DEFAULT)) pop_until(P, T_SELECT);
        reconstruct(P);
        insert_element(P, T_INPUT, t);
        pop(P);
        return 1;
    case T_PARAM:
    case T_SOURCE:
    case T_TRACK:
        insert_element(P, tag, t);
        pop(P);
        return 1;
    case T_HR:
        if (in_scope(P, T_P, SC_BUTTON)) close_p(P);
        if (in_scope(P, T_SELECT, SC_DEFAULT)) generate_implied(P, -1);
        insert_element(P, T_HR, t);
        pop(P);
        return 1;
    case T_IMAGE:
        t->tag = T_IMG;
        return 0;
    case T_TEXTAREA:
        /* lexbor hands the text of a textarea to the current insertion mode, not to "text": in body, it
           reconstructs the active formatting elements inside the textarea */
        insert_element(P, T_TEXTAREA, t);
        P->tok_state = TS_RCDATA;
        P->skip_newline = 1;
        return 1;
    case T_XMP:
        if (in_scope(P, T_P, SC_BUTTON)) close_p(P);
        reconstruct(P);
        raw_text_element(P, T_XMP, t, TS_RAWTEXT);
        return 1;
    case T_IFRAME:
    case T_NOEMBED: raw_text_element(P, tag, t, TS_RAWTEXT); return 1;
    case T_SELECT:
        if (in_scope(P, T_SELECT, SC_DEFAULT)) {
            pop_until(P, T_SELECT);
            return 1;
        }
        reconstruct(P);
        insert_element(P, T_SELECT, t);
        return 1;
    case T_OPTION:
    case T_OPTGROUP:
        if (in_scope(P, T_SELECT, SC_DEFAULT)) generate_implied(P, tag == T_OPTION ? T_OPTGROUP : -1);
        else if (current_tag(P) == T_OPTION) pop(P);
        reconstruct(P);
        insert_element(P, tag, t);
        return 1;
    case T_RB:
    case T_RTC:
        if (in_scope(P, T_RUBY, SC_DEFAULT)) generate_implied(P, -1);
        insert_element(P, tag, t);
        return 1;
    case T_RP:
    case T_RT:
        if (in_scope(P, T_RUBY, SC_DEFAULT)) generate_implied(P, T_RTC);
        insert_element(P, tag, t);
        return 1;
    case T_CAPTION:
    case T_COL:
    case T_COLGROUP:
    case T_FRAME:
    case T_HEAD:
    case T_TBODY:
    case T_TD:
    case T_TFOOT:
    case T_TH:
    case T_THEAD:
    case T_TR: return 1;
    case T_SVG:
    case T_MATH:
        reconstruct(P);
        insert_foreign(P, t, tag == T_SVG ? NS_SVG : NS_MATH);
        if (t->self_closing) pop(P);
        return 1;
    default: /* <plaintext> and <frameset> too: the tokenizer stops at them but in the lenient scan */
        reconstruct(P);
        insert_element(P, tag, t);
        return 1;
    }
}

static int in_body_end(Parser *P, Token *t) {
    int tag = t->tag;
    switch (tag) {
    case T_TEMPLATE: end_template(P); return 1;
    case T_BODY:
        if (in_scope(P, T_BODY, SC_DEFAULT)) P->mode = M_AFTER_BODY;
        return 1;
    case T_HTML:
        if (!in_scope(P, T_BODY, SC_DEFAULT)) return 1;
        P->mode = M_AFTER_BODY;
        return 0;
    case T_ADDRESS:
    case T_ARTICLE:
    case T_ASIDE:
    case T_BLOCKQUOTE:
    case T_BUTTON:
    case T_CENTER:
    case T_DETAILS:
    case T_DIALOG:
    case T_DIR:
    case T_DIV:
    case T_DL:
    case T_FIELDSET:
    case T_FIGCAPTION:
    case T_FIGURE:
    case T_FOOTER:
    case T_HEADER:
    case T_HGROUP:
    case T_LISTING:
    case T_MAIN:
    case T_MENU:
    case T_NAV:
    case T_OL:
    case T_PRE:
    case T_SEARCH:
    case T_SECTION:
    case T_SELECT:
    case T_SUMMARY:
    case T_UL:
        if (!in_scope(P, tag, SC_DEFAULT)) return 1;
        generate_implied(P, -1);
        pop_until(P, tag);
        return 1;
    case T_FORM:
        if (P->templates_open == 0) {
            int was_open = P->form_open;
            P->form_open = 0;
            if (!was_open) return 1;
            /* the form element: the last form on the stack (the pointer is never another one here) */
            int fi = -1;
            for (int i = P->depth - 1; i >= 0; i--) {
                STEP(P, 1);
                if (E(P->stack[i])->tag == T_FORM) {
                    fi = i;
                    break;
                }
                if (scope_boundary(E(P->stack[i])->tag, SC_DEFAULT)) break;
            }
            if (fi < 0) return 1;
            generate_implied(P, -1);
            stack_remove_at(P, fi);
            return 1;
        }
        if (!in_scope(P, T_FORM, SC_DEFAULT)) return 1;
        generate_implied(P, -1);
        pop_until(P, T_FORM);
        return 1;
    case T_P:
        if (!in_scope(P, T_P, SC_BUTTON)) insert_element(P, T_P, NULL);
        close_p(P);
        return 1;
    case T_LI:
        if (!in_scope(P, T_LI, SC_LIST)) return 1;
        generate_implied(P, T_LI);
        pop_until(P, T_LI);
        return 1;
    case T_DD:
    case T_DT:
        if (!in_scope(P, tag, SC_DEFAULT)) return 1;
        generate_implied(P, tag);
        pop_until(P, tag);
        return 1;
    case T_H1:
    case T_H2:
    case T_H3:
    case T_H4:
    case T_H5:
    case T_H6:
        if (!heading_in_scope(P)) return 1;
        generate_implied(P, -1);
        pop_until_heading(P);
        return 1;
    case T_A:
    case T_B:
    case T_BIG:
    case T_CODE:
    case T_EM:
    case T_FONT:
    case T_I:
    case T_NOBR:
    case T_S:
    case T_SMALL:
    case T_STRIKE:
    case T_STRONG:
    case T_TT:
    case T_U:
        if (!adoption_agency(P, tag)) any_other_end_tag(P, t);
        return 1;
    case T_APPLET:
    case T_MARQUEE:
    case T_OBJECT:
        if (!in_scope(P, tag, SC_DEFAULT)) return 1;
        generate_implied(P, -1);
        pop_until(P, tag);
        afe_clear_to_marker(P);
        return 1;
    case T_BR: {
        Token br = *t;
        br.type = TK_START;
        br.attr_count = 0;
        return in_body_start(P, &br);
    }
    default: any_other_end_tag(P, t); return 1;
    }
}

static int in_body(Parser *P, Token *t) {
    switch (t->type) {
    case TK_TEXT:
        reconstruct(P);
        insert_text(P, t->text);
        return 1;
    case TK_COMMENT: insert_comment(P); return 1;
    case TK_DOCTYPE: return 1;
    case TK_START: return in_body_start(P, t);
    case TK_END: return in_body_end(P, t);
    default: return 1;
    }
}

static void clear_to_context(Parser *P, int a, int b, int c) {
    while (P->depth && current_tag(P) != a && current_tag(P) != b && current_tag(P) != c &&
           current_tag(P) != T_TEMPLATE && current_tag(P) != T_HTML)
        pop(P);
}
#define CLEAR_TABLE(P) clear_to_context(P, T_TABLE, T_TABLE, T_TABLE)
#define CLEAR_TABLE_BODY(P) clear_to_context(P, T_TBODY, T_TFOOT, T_THEAD)
#define CLEAR_ROW(P) clear_to_context(P, T_TR, T_TR, T_TR)

static int table_anything_else(Parser *P, Token *t) {
    P->foster = 1;
    in_body(P, t);
    P->foster = 0;
    /* lexbor drops a token that "in body" asks to reprocess from here: <image> in table modes vanishes */
    return 1;
}

static int in_table(Parser *P, Token *t) {
    int tag = t->tag;
    switch (t->type) {
    case TK_TEXT: {
        int ct = current_tag(P);
        if (ct == T_TABLE || ct == T_TBODY || ct == T_TFOOT || ct == T_THEAD || ct == T_TR) { /* lexbor: no template */
            P->n_pending = 0;
            P->pending_nonspace = 0;
            P->original_mode = P->mode;
            P->mode = M_IN_TABLE_TEXT;
            return 0;
        }
        return table_anything_else(P, t);
    }
    case TK_COMMENT: insert_comment(P); return 1;
    case TK_DOCTYPE: return 1;
    case TK_START:
        switch (tag) {
        case T_CAPTION:
            CLEAR_TABLE(P);
            afe_push_marker(P);
            insert_element(P, T_CAPTION, t);
            P->mode = M_IN_CAPTION;
            return 1;
        case T_COLGROUP:
            CLEAR_TABLE(P);
            insert_element(P, T_COLGROUP, t);
            P->mode = M_IN_COLUMN_GROUP;
            return 1;
        case T_COL:
            CLEAR_TABLE(P);
            insert_element(P, T_COLGROUP, NULL);
            P->mode = M_IN_COLUMN_GROUP;
            return 0;
        case T_TBODY:
        case T_TFOOT:
        case T_THEAD:
            CLEAR_TABLE(P);
            insert_element(P, tag, t);
            P->mode = M_IN_TABLE_BODY;
            return 1;
        case T_TD:
        case T_TH:
        case T_TR:
            CLEAR_TABLE(P);
            insert_element(P, T_TBODY, NULL);
            P->mode = M_IN_TABLE_BODY;
            return 0;
        case T_TABLE:
            if (!in_scope(P, T_TABLE, SC_TABLE)) return 1;
            pop_until(P, T_TABLE);
            reset_mode(P);
            return 0;
        case T_STYLE:
        case T_SCRIPT:
        case T_TEMPLATE: return in_head(P, t);
        case T_INPUT:
            if (!t->hidden) break;
            insert_element(P, T_INPUT, t);
            pop(P);
            return 1;
        case T_FORM: /* lexbor ignores it like "in body" does, not whenever a template is open */
            if (P->form_open && P->templates_open == 0) return 1;
            insert_element(P, T_FORM, t);
            if (P->templates_open == 0) P->form_open = 1;
            pop(P);
            return 1;
        }
        break;
    case TK_END:
        switch (tag) {
        case T_TABLE:
            if (!in_scope(P, T_TABLE, SC_TABLE)) return 1;
            pop_until(P, T_TABLE);
            reset_mode(P);
            return 1;
        case T_BODY:
        case T_CAPTION:
        case T_COL:
        case T_COLGROUP:
        case T_HTML:
        case T_TBODY:
        case T_TD:
        case T_TFOOT:
        case T_TH:
        case T_THEAD:
        case T_TR: return 1;
        case T_TEMPLATE: return in_head(P, t);
        }
        break;
    case TK_EOF: return 1;
    }
    return table_anything_else(P, t);
}

static void flush_table_text(Parser *P) {
    if (P->pending_nonspace) {
        P->foster = 1;
        reconstruct(P);
        for (int i = 0; i < P->n_pending; i++) insert_text(P, P->pending[i]);
        P->foster = 0;
    } else {
        for (int i = 0; i < P->n_pending; i++) insert_text(P, P->pending[i]);
    }
    P->n_pending = 0;
    P->mode = P->original_mode;
}

static int in_table_text(Parser *P, Token *t) {
    if (t->type == TK_TEXT) {
        RESERVE(P, P->pending, P->n_pending, P->cap_pending);
        P->pending[P->n_pending++] = t->text;
        if (leading_space(P, t->text) < t->text.len) P->pending_nonspace = 1;
        return 1;
    }
    flush_table_text(P);
    return 0;
}

static int in_caption(Parser *P, Token *t) {
    int tag = t->tag;
    if (t->type == TK_END && tag == T_CAPTION) {
        if (!in_scope(P, T_CAPTION, SC_TABLE)) return 1;
        generate_implied(P, -1);
        pop_until(P, T_CAPTION);
        afe_clear_to_marker(P);
        P->mode = M_IN_TABLE;
        return 1;
    }
    if ((t->type == TK_START && (tag == T_CAPTION || tag == T_COL || tag == T_COLGROUP || tag == T_TBODY ||
                                 tag == T_TD || tag == T_TFOOT || tag == T_TH || tag == T_THEAD || tag == T_TR)) ||
        (t->type == TK_END && tag == T_TABLE)) {
        if (!in_scope(P, T_CAPTION, SC_TABLE)) return 1;
        generate_implied(P, -1);
        pop_until(P, T_CAPTION);
        afe_clear_to_marker(P);
        P->mode = M_IN_TABLE;
        return 0;
    }
    if (t->type == TK_END && (tag == T_BODY || tag == T_COL || tag == T_COLGROUP || tag == T_HTML || tag == T_TBODY ||
                              tag == T_TD || tag == T_TFOOT || tag == T_TH || tag == T_THEAD || tag == T_TR))
        return 1;
    return in_body(P, t);
}

static int in_column_group(Parser *P, Token *t) {
    int tag = t->tag;
    switch (t->type) {
    case TK_TEXT:
        if (insert_leading_space(P, t, 0)) return 1;
        break;
    case TK_COMMENT: insert_comment(P); return 1;
    case TK_DOCTYPE: break; /* lexbor has no DOCTYPE rule here: "anything else" */
    case TK_START:
        if (tag == T_HTML) return in_body(P, t);
        if (tag == T_COL) {
            insert_element(P, T_COL, t);
            pop(P);
            return 1;
        }
        if (tag == T_TEMPLATE) return in_head(P, t);
        break;
    case TK_END:
        if (tag == T_COLGROUP) {
            if (current_tag(P) != T_COLGROUP) return 1;
            pop(P);
            P->mode = M_IN_TABLE;
            return 1;
        }
        if (tag == T_COL) return 1;
        if (tag == T_TEMPLATE) return in_head(P, t);
        break;
    case TK_EOF: return 1;
    }
    if (current_tag(P) != T_COLGROUP) return 1;
    pop(P);
    P->mode = M_IN_TABLE;
    return 0;
}

static int in_table_body(Parser *P, Token *t) {
    int tag = t->tag;
    if (t->type == TK_START) {
        if (tag == T_TR) {
            CLEAR_TABLE_BODY(P);
            insert_element(P, T_TR, t);
            P->mode = M_IN_ROW;
            return 1;
        }
        if (tag == T_TH || tag == T_TD) {
            CLEAR_TABLE_BODY(P);
            insert_element(P, T_TR, NULL);
            P->mode = M_IN_ROW;
            return 0;
        }
    }
    if (t->type == TK_END && (tag == T_TBODY || tag == T_TFOOT || tag == T_THEAD)) {
        if (!in_scope(P, tag, SC_TABLE)) return 1;
        CLEAR_TABLE_BODY(P);
        pop(P);
        P->mode = M_IN_TABLE;
        return 1;
    }
    if ((t->type == TK_START && (tag == T_CAPTION || tag == T_COL || tag == T_COLGROUP || tag == T_TBODY ||
                                 tag == T_TFOOT || tag == T_THEAD)) ||
        (t->type == TK_END && tag == T_TABLE)) {
        if (!in_scope(P, T_TBODY, SC_TABLE) && !in_scope(P, T_THEAD, SC_TABLE) && !in_scope(P, T_TFOOT, SC_TABLE))
            return 1;
        CLEAR_TABLE_BODY(P);
        pop(P);
        P->mode = M_IN_TABLE;
        return 0;
    }
    if (t->type == TK_END && (tag == T_BODY || tag == T_CAPTION || tag == T_COL || tag == T_COLGROUP ||
                              tag == T_HTML || tag == T_TD || tag == T_TH || tag == T_TR))
        return 1;
    return in_table(P, t);
}

static int in_row(Parser *P, Token *t) {
    int tag = t->tag;
    if (t->type == TK_START && (tag == T_TH || tag == T_TD)) {
        CLEAR_ROW(P);
        insert_element(P, tag, t);
        P->mode = M_IN_CELL;
        afe_push_marker(P);
        return 1;
    }
    if (t->type == TK_END && tag == T_TR) {
        if (!in_scope(P, T_TR, SC_TABLE)) return 1;
        CLEAR_ROW(P);
        pop(P);
        P->mode = M_IN_TABLE_BODY;
        return 1;
    }
    if ((t->type == TK_START && (tag == T_CAPTION || tag == T_COL || tag == T_COLGROUP || tag == T_TBODY ||
                                 tag == T_TFOOT || tag == T_THEAD || tag == T_TR)) ||
        (t->type == TK_END && tag == T_TABLE)) {
        if (!in_scope(P, T_TR, SC_TABLE)) return 1;
        CLEAR_ROW(P);
        pop(P);
        P->mode = M_IN_TABLE_BODY;
        return 0;
    }
    if (t->type == TK_END && (tag == T_TBODY || tag == T_TFOOT || tag == T_THEAD)) {
        if (!in_scope(P, tag, SC_TABLE) || !in_scope(P, T_TR, SC_TABLE)) return 1;
        CLEAR_ROW(P);
        pop(P);
        P->mode = M_IN_TABLE_BODY;
        return 0;
    }
    if (t->type == TK_END && (tag == T_BODY || tag == T_CAPTION || tag == T_COL || tag == T_COLGROUP ||
                              tag == T_HTML || tag == T_TD || tag == T_TH))
        return 1;
    return in_table(P, t);
}

static void close_cell(Parser *P) {
    generate_implied(P, -1);
    while (P->depth) {
        int ct = current_tag(P);
        pop(P);
        if (ct == T_TD || ct == T_TH) break;
    }
    afe_clear_to_marker(P);
    P->mode = M_IN_ROW;
}

static int in_cell(Parser *P, Token *t) {
    int tag = t->tag;
    if (t->type == TK_END && (tag == T_TD || tag == T_TH)) {
        if (!in_scope(P, tag, SC_TABLE)) return 1;
        generate_implied(P, -1);
        pop_until(P, tag);
        afe_clear_to_marker(P);
        P->mode = M_IN_ROW;
        return 1;
    }
    if (t->type == TK_START && (tag == T_CAPTION || tag == T_COL || tag == T_COLGROUP || tag == T_TBODY ||
                                tag == T_TD || tag == T_TFOOT || tag == T_TH || tag == T_THEAD || tag == T_TR)) {
        if (!in_scope(P, T_TD, SC_TABLE) && !in_scope(P, T_TH, SC_TABLE)) return 1;
        close_cell(P);
        return 0;
    }
    if (t->type == TK_END && (tag == T_BODY || tag == T_CAPTION || tag == T_COL || tag == T_COLGROUP || tag == T_HTML))
        return 1;
    if (t->type == TK_END && (tag == T_TABLE || tag == T_TBODY || tag == T_TFOOT || tag == T_THEAD || tag == T_TR)) {
        if (!in_scope(P, tag, SC_TABLE)) return 1;
        close_cell(P);
        return 0;
    }
    return in_body(P, t);
}

static int in_template(Parser *P, Token *t) {
    int tag = t->tag;
    switch (t->type) {
    case TK_TEXT:
    case TK_COMMENT:
    case TK_DOCTYPE: return in_body(P, t);
    case TK_START: {
        int next;
        switch (tag) {
        case T_BASE:
        case T_BASEFONT:
        case T_BGSOUND:
        case T_LINK:
        case T_META:
        case T_NOFRAMES:
        case T_SCRIPT:
        case T_STYLE:
        case T_TEMPLATE:
        case T_TITLE: return in_head(P, t);
        case T_CAPTION:
        case T_COLGROUP:
        case T_TBODY:
        case T_TFOOT:
        case T_THEAD: next = M_IN_TABLE; break;
        case T_COL: next = M_IN_COLUMN_GROUP; break;
        case T_TR: next = M_IN_TABLE_BODY; break;
        case T_TD:
        case T_TH: next = M_IN_ROW; break;
        default: next = M_IN_BODY; break;
        }
        P->tmpl_modes[P->n_tmpl_modes - 1] = next;
        P->mode = next;
        return 0;
    }
    case TK_END:
        if (tag == T_TEMPLATE) return in_head(P, t);
        return 1;
    default: return 1;
    }
}

static int step(Parser *P, Token *t) {
    switch (P->mode) {
    case M_INITIAL:
        if (t->type == TK_TEXT) {
            take_leading_space(P, t); /* whitespace here is ignored */
            if (t->text.len == 0) return 1;
        }
        if (t->type == TK_COMMENT) return 1;
        if (t->type == TK_DOCTYPE) {
            P->quirks = t->quirks;
            P->mode = M_BEFORE_HTML;
            return 1;
        }
        P->quirks = 1;
        P->mode = M_BEFORE_HTML;
        return 0;
    case M_BEFORE_HTML:
        if (t->type == TK_DOCTYPE || t->type == TK_COMMENT) return 1;
        if (t->type == TK_TEXT) {
            take_leading_space(P, t); /* whitespace here is ignored */
            if (t->text.len == 0) return 1;
        }
        if (t->type == TK_START && t->tag == T_HTML) {
            create_html(P, t);
            P->mode = M_BEFORE_HEAD;
            return 1;
        }
        if (t->type == TK_END && t->tag != T_HEAD && t->tag != T_BODY && t->tag != T_HTML && t->tag != T_BR) return 1;
        create_html(P, NULL);
        P->mode = M_BEFORE_HEAD;
        return 0;
    case M_BEFORE_HEAD:
        if (t->type == TK_TEXT) {
            take_leading_space(P, t); /* whitespace here is ignored */
            if (t->text.len == 0) return 1;
        }
        if (t->type == TK_COMMENT) {
            insert_comment(P);
            return 1;
        }
        if (t->type == TK_DOCTYPE) return 1;
        if (t->type == TK_START && t->tag == T_HTML) return in_body(P, t);
        if (t->type == TK_START && t->tag == T_HEAD) {
            P->head_elem = insert_element(P, T_HEAD, t);
            P->mode = M_IN_HEAD;
            return 1;
        }
        if (t->type == TK_END && t->tag != T_HEAD && t->tag != T_BODY && t->tag != T_HTML && t->tag != T_BR) return 1;
        P->head_elem = insert_element(P, T_HEAD, NULL);
        P->mode = M_IN_HEAD;
        return 0;
    case M_IN_HEAD: return in_head(P, t);
    case M_IN_HEAD_NOSCRIPT:
        switch (t->type) {
        case TK_DOCTYPE: return 1;
        case TK_START:
            if (t->tag == T_HTML) return in_body(P, t);
            if (t->tag == T_BASEFONT || t->tag == T_BGSOUND || t->tag == T_LINK || t->tag == T_META ||
                t->tag == T_NOFRAMES || t->tag == T_STYLE)
                return in_head(P, t);
            if (t->tag == T_HEAD || t->tag == T_NOSCRIPT) return 1;
            break;
        case TK_END:
            if (t->tag == T_NOSCRIPT) {
                pop(P);
                P->mode = M_IN_HEAD;
                return 1;
            }
            if (t->tag != T_BR) return 1;
            break;
        case TK_COMMENT: return in_head(P, t);
        case TK_TEXT:
            if (insert_leading_space(P, t, 0)) return 1;
            break;
        }
        pop(P);
        P->mode = M_IN_HEAD;
        return 0;
    case M_AFTER_HEAD:
        switch (t->type) {
        case TK_TEXT:
            if (insert_leading_space(P, t, 0)) return 1;
            break;
        case TK_COMMENT: insert_comment(P); return 1;
        case TK_DOCTYPE: return 1;
        case TK_START:
            switch (t->tag) {
            case T_HTML: return in_body(P, t);
            case T_BODY:
                insert_element(P, T_BODY, t); /* its style attribute is read like any element's */
                P->body_has_style = token_attr(P, t, A_STYLE) != NULL;
                P->mode = M_IN_BODY;
                return 1;
            case T_BASE:
            case T_BASEFONT:
            case T_BGSOUND:
            case T_LINK:
            case T_META:
            case T_NOFRAMES:
            case T_SCRIPT:
            case T_STYLE:
            case T_TEMPLATE:
            case T_TITLE: {
                int head = P->head_elem;
                push(P, head);
                in_head(P, t);
                int i = stack_index(P, head);
                if (i >= 0) stack_remove_at(P, i);
                return 1;
            }
            case T_HEAD: return 1;
            }
            break;
        case TK_END:
            if (t->tag == T_TEMPLATE) return in_head(P, t);
            if (t->tag != T_BODY && t->tag != T_HTML && t->tag != T_BR) return 1;
            break;
        }
        insert_element(P, T_BODY, NULL);
        P->mode = M_IN_BODY;
        return 0;
    case M_IN_BODY: return in_body(P, t);
    case M_TEXT:
        if (t->type == TK_TEXT) {
            insert_text(P, t->text);
            return 1;
        }
        pop(P);
        P->mode = P->original_mode;
        return t->type != TK_EOF;
    case M_IN_TABLE: return in_table(P, t);
    case M_IN_TABLE_TEXT: return in_table_text(P, t);
    case M_IN_CAPTION: return in_caption(P, t);
    case M_IN_COLUMN_GROUP: return in_column_group(P, t);
    case M_IN_TABLE_BODY: return in_table_body(P, t);
    case M_IN_ROW: return in_row(P, t);
    case M_IN_CELL: return in_cell(P, t);
    case M_IN_TEMPLATE: return in_template(P, t);
    case M_AFTER_BODY:
        switch (t->type) {
        case TK_TEXT:
            if (insert_leading_space(P, t, 1)) return 1;
            break;
        case TK_COMMENT: E(P->stack[0])->lc = -1; return 1; /* a child of <html>, after <body> */
        case TK_DOCTYPE: return 1;
        case TK_START:
            if (t->tag == T_HTML) return in_body(P, t);
            break;
        case TK_END:
            if (t->tag == T_HTML) {
                P->mode = M_AFTER_AFTER_BODY;
                return 1;
            }
            break;
        case TK_EOF: return 1;
        }
        P->mode = M_IN_BODY;
        return 0;
    case M_AFTER_AFTER_BODY:
        switch (t->type) {
        case TK_COMMENT: return 1;
        case TK_DOCTYPE: return 1;
        case TK_TEXT:
            if (insert_leading_space(P, t, 1)) return 1;
            break;
        case TK_START:
            if (t->tag == T_HTML) return in_body(P, t);
            break;
        case TK_EOF: return 1;
        }
        P->mode = M_IN_BODY;
        return 0;
    }
    return 1;
}

static inline int html_integration_point(const Elem *el) {
    return el->tag == T_SVG_FOREIGNOBJECT || el->tag == T_SVG_DESC || el->tag == T_SVG_TITLE ||
           el->tag == T_MATH_ANNOTATION_HTML;
}

/* Where foreign content ends when HTML breaks out of it: an HTML element or an integration point. */
static inline int foreign_boundary(const Elem *el) {
    return el->ns == NS_HTML || html_integration_point(el) || el->tag == T_MATH_TEXT_POINT;
}

/* "The rules for parsing tokens in foreign content": 1 when done, 0 when the insertion mode's rules must
   process the token now (the HTML start tags that end SVG content, end tags of HTML elements). */
static int foreign_content(Parser *P, Token *t) {
    Elem *cur = E(current(P));
    switch (t->type) {
    case TK_TEXT:
        if (cur->tag == T_SVG_STYLE) {
            if (cur->css_node >= 0) add_run(P, cur->css_node, t->text);
            return 1;
        }
        insert_text(P, t->text);
        return 1;
    case TK_COMMENT: insert_comment(P); return 1;
    case TK_DOCTYPE: return 1;
    case TK_START:
        if ((TAG_FLAGS[t->tag] & F_BREAKOUT) ||
            (t->tag == T_FONT && (token_attr(P, t, A_COLOR) || token_attr(P, t, A_FACE) || token_attr(P, t, A_SIZE)))) {
            while (!foreign_boundary(E(current(P)))) pop(P);
            return 0;
        }
        if (cur->tag == T_SVG_STYLE && !P->lenient) fail(P, "svg style markup"); /* its CSS would be the text of a subtree */
        insert_foreign(P, t, cur->ns); /* the namespace of the adjusted current node */
        if (t->self_closing) pop(P);
        return 1;
    case TK_END:
        if (t->tag == T_BR || t->tag == T_P) {
            while (!foreign_boundary(E(current(P)))) pop(P);
            return 0;
        }
        for (int i = P->depth - 1; i > 0;) {
            STEP(P, 1);
            Elem *node = E(P->stack[i]);
            if (node->name_len == t->name_len && ascii_ieq(node->name, t->name, t->name_len)) {
                while (P->depth > i) pop(P);
                return 1;
            }
            if (E(P->stack[--i])->ns == NS_HTML) return 0;
        }
        return 1;
    default: return 1;
    }
}

/* The tree construction dispatcher: SVG and MathML content have their own rules, except at their integration
   points: text and start tags (but <mglyph> and <malignmark>) in mi, mo, mn, ms and mtext, an <svg> start tag
   in annotation-xml, text and start tags in an HTML integration point. */
static inline int foreign(Parser *P, const Token *t) {
    if (P->depth == 0 || t->type == TK_EOF) return 0;
    const Elem *cur = E(P->stack[P->depth - 1]);
    if (cur->ns == NS_HTML) return 0;
    if (cur->tag == T_MATH_TEXT_POINT) {
        if (t->type == TK_TEXT) return 0;
        if (t->type == TK_START && !name_is(t, "mglyph") && !name_is(t, "malignmark")) return 0;
    }
    if (t->type == TK_START && t->tag == T_SVG &&
        (cur->tag == T_MATH_ANNOTATION_XML || cur->tag == T_MATH_ANNOTATION_HTML))
        return 0;
    return !(html_integration_point(cur) && (t->type == TK_START || t->type == TK_TEXT));
}

/*
 * Soup: the tokenizer with no tree construction, for a page whose tree costs more than its budget. Every
 * start tag is an element of <body> (template contents excepted: they nest), so every link element of the
 * page is found whatever its nesting, in time linear in the page, and what lexbor finds besides.
 *
 * Only <script> switches the tokenizer (its text would give tags that are no elements), and not after an
 * <svg> or <math> that did not end (lexbor reads it as markup there) nor inside the elements whose text is
 * raw text or RCDATA (<style>, <title>, <textarea>, <xmp>, <iframe>, <noembed>, <noframes>, <plaintext>):
 * their text is read as markup, which finds the elements lexbor would find if they were SVG's, and a
 * <script> there is text to lexbor, which must not swallow the page. The CSS of a <style> is its raw text up
 * to </style>, as lexbor has it in HTML (and, after an <svg> or <math>, its text too, as in SVG). Lost to the
 * missing tree: the repeated links of reconstructed formatting elements, and where bare URLs in text end when
 * markup runs through them, and the text of CDATA sections ("<![CDATA[" is a bogus comment everywhere); head
 * text counts as body text, and a frameset page's elements as elements.
 */
static Py_ssize_t raw_end(const unsigned char *in, Py_ssize_t p, Py_ssize_t n, const unsigned char *name, Py_ssize_t len);
static void store_style_text(Parser *P, Py_ssize_t a, Py_ssize_t b);
static int end_tag_at(const unsigned char *in, Py_ssize_t p, Py_ssize_t n, const unsigned char *name, Py_ssize_t len);

static int soup_text_container(int tag) {
    switch (tag) {
    case T_STYLE:
    case T_TITLE:
    case T_TEXTAREA:
    case T_XMP:
    case T_IFRAME:
    case T_NOEMBED:
    case T_NOFRAMES:
    case T_PLAINTEXT: return 1;
    default: return 0;
    }
}

static void soup_start(Parser *P, Token *t) {
    int tag = t->tag == T_IMAGE ? T_IMG : t->tag;
    if (tag == T_HTML || tag == T_BODY) { /* their attributes go to the one html and body */
        /* The tree keeps the first style such a tag brings; soup takes every one, as a tag it reads inside raw
           text before going back to the text's end (soup_resume) may be a false one. */
        int any_style = 0;
        merge_style(P, t, &any_style);
        return;
    }
    int inside_text = soup_text_container(current_tag(P));
    int e = create_element(P, (Place){current(P), -1}, tag, t, -1);
    if ((tag == T_SVG || tag == T_MATH) && !t->self_closing) P->soup_foreign++, P->soup_saw_foreign = 1;
    if (tag == T_SCRIPT && P->soup_foreign == 0 && !inside_text) {
        push(P, e);
        P->tok_state = TS_SCRIPT;
    } else if (tag == T_TEMPLATE || soup_text_container(tag)) {
        push(P, e);
        if (tag != T_TEMPLATE && tag != T_PLAINTEXT && P->tag_end > P->soup_raw_end) /* see soup_resume */
            P->soup_raw_end = raw_end(P->in, P->tag_end, P->n, E(e)->name, E(e)->name_len);
        /* its CSS runs to the first </style> after it. A <style> inside the CSS of an earlier one is part of
           that CSS, as in lexbor's raw text: taken again, 100,000 unended <style> would each hold the rest of
           the page (and each search would scan it) */
        if (tag == T_STYLE && P->tag_end > P->soup_style_end) {
            Py_ssize_t a = P->tag_end, b = raw_end(P->in, a, P->n, (const unsigned char *)"style", 5);
            P->soup_style_end = b;
            store_style_text(P, a, b);
            /* in SVG its CSS is its text instead, markup read and references decoded: after an <svg> or <math>
               (whether it ended or not is the tree's to say), where that differs from the raw text, the style's
               text (and the text of the styles inside it) is taken as CSS too (a link in both is taken twice) */
            P->soup_css_node = 0;
            if (P->soup_saw_foreign && (memchr(P->in + a, '<', b - a) || memchr(P->in + a, '&', b - a))) {
                int node = new_text_node(P, 2);
                RESERVE(P, P->style_texts, P->n_style_texts, P->cap_style_texts);
                P->style_texts[P->n_style_texts++] = (Ref){node, 0, 3};
                P->soup_css_node = node + 1;
            }
        } else if (tag == T_STYLE && P->soup_css_node) { /* a style inside: its own text is CSS too */
            int node = new_text_node(P, 2);
            RESERVE(P, P->style_texts, P->n_style_texts, P->cap_style_texts);
            P->style_texts[P->n_style_texts++] = (Ref){node, 0, 3};
            E(e)->css_node = node;
        }
    }
}

/* In soup the text of a <style>, <title>, <textarea>, ... is read as markup (it may be SVG's), but in HTML it is
   text up to the element's end tag. A tag, comment or doctype read as markup that runs over that end tag (an
   attribute value holding "</title>", a comment that does not end) must not hide it and what follows: the
   tokenizer takes the tag (and its links), then goes back to the end tag (a comment, which holds no links,
   stops there). Where the construct at `start` ended at `after`, returns where the tokenizer goes on. A quoted
   value runs to the next quote of its kind, so the bytes taken again are a small multiple of the page's size
   (2.3 on tags whose values run over each other's end tags); past four times its size the tokenizer no longer
   goes back, so that soup stays linear whatever the page. */
static Py_ssize_t soup_resume(Parser *P, Py_ssize_t start, Py_ssize_t after) {
    Py_ssize_t end = P->soup_raw_end;
    if (!P->soup || start >= end || after <= end || P->soup_rescanned > 4 * P->n - (after - end)) return after;
    P->soup_rescanned += after - end;
    /* a style whose text is taken as SVG's goes on after the tag in SVG: its "</style>" is HTML's only */
    int svg_style = P->soup_css_node && current_tag(P) == T_STYLE;
    P->soup_keep_style = svg_style && end_tag_at(P->in, end, P->n, (const unsigned char *)"style", 5);
    return end;
}

static void soup_process(Parser *P, Token *t) {
    switch (t->type) {
    case TK_START: soup_start(P, t); return;
    case TK_END:
        if ((t->tag == T_SVG || t->tag == T_MATH) && P->soup_foreign > 0) P->soup_foreign--;
        if (t->tag == T_STYLE && P->soup_keep_style) P->soup_keep_style = 0;
        else if (P->depth > 2 && same_name(P, current(P), t)) pop(P); /* a template, a script, a text container */
        else if (soup_text_container(t->tag) && P->open_count[t->tag] > 0) {
            /* raw text ends at its end tag, whatever soup read as markup inside it: a <template> read there
               would otherwise stay open, and the rest of the page would be template contents. Each element is
               popped once: linear. */
            while (P->depth > 2 && E(current(P))->tag != t->tag) pop(P);
            if (P->depth > 2) pop(P);
        }
        E(current(P))->lc = -1; /* the text after an end tag is a node of its own */
        return;
    case TK_TEXT:
        if (current_tag(P) != T_STYLE) insert_text(P, t->text); /* a style's text is its CSS, taken above */
        /* in SVG, a style's text is that of everything in it (see soup_start): the outermost style's text,
           and the current one's. Every style between would take it too, which would make soup quadratic in
           styles nested in styles: theirs is not taken */
        if (P->soup_css_node && P->open_count[T_STYLE]) {
            Ref css = t->text; /* what SVG reads of it: nothing of the comment that ran over a </style> */
            if (css.src == 0 && css.off < P->soup_css_from) {
                Py_ssize_t cut = P->soup_css_from - css.off < css.len ? P->soup_css_from - css.off : css.len;
                css.off += cut;
                css.len -= cut;
            }
            add_run(P, P->soup_css_node - 1, css);
            const Elem *style = P->depth ? E(current(P)) : NULL;
            if (style && style->tag == T_STYLE && style->css_node >= 0) add_run(P, style->css_node, css);
        }
        return;
    case TK_COMMENT: insert_comment(P); return;
    default: return;
    }
}

static void process(Parser *P, Token *t) {
    if (P->soup) {
        soup_process(P, t);
        return;
    }
    if (P->skip_newline) {
        P->skip_newline = 0;
        if (t->type == TK_TEXT && t->text.len && ref_ptr(P, t->text)[0] == '\n') {
            t->text.off++;
            if (--t->text.len == 0) return;
        }
    }
    int html_rules = 0;
    for (int rounds = 0;; rounds++) {
        if (rounds > 100) fail(P, "loop"); /* a modelling error rather than a page */
        if (!html_rules && foreign(P, t)) {
            if (foreign_content(P, t)) return;
            html_rules = 1; /* "reprocess the token according to ... the current insertion mode" */
            continue;
        }
        html_rules = 0;
        if (step(P, t)) return;
    }
}

/* ---------------------------------------------------------------------------------------------------- */
/* tokenizer                                                                                            */

static void emit_text(Parser *P, Py_ssize_t a, Py_ssize_t b, int decoded) {
    if (b <= a) return;
    Token t = {.type = TK_TEXT};
    t.text = decoded ? text_ref(P, P->in + a, b - a, 0) : (Ref){a, b - a, 0};
    process(P, &t);
}

/* Parses the tag at P->in[i] == '<' (start tag, or end tag when `end`). Returns the position after it, or
   -1 when the input ends inside it (the tag is then dropped, as the tokenizer does at EOF). */
static Py_ssize_t parse_tag(Parser *P, Py_ssize_t i, int end, Token *t) {
    const unsigned char *in = P->in;
    Py_ssize_t n = P->n, p = i + 1 + end, start = p;
    while (p < n && !is_space(in[p]) && in[p] != '/' && in[p] != '>') p++;
    if (p >= n) return -1;
    t->type = end ? TK_END : TK_START;
    t->name = in + start;
    t->name_len = p - start;
    t->tag = tag_id(t->name, t->name_len);
    t->attr_first = P->n_attrs;
    t->attr_count = 0;
    t->self_closing = 0;
    t->hidden = 0;
    P->attr_mark++;
    for (;;) {
        while (p < n && is_space(in[p])) p++;
        if (p >= n) return -1;
        if (in[p] == '>') return p + 1;
        if (in[p] == '/') {
            p++;
            if (p >= n) return -1;
            if (in[p] == '>') {
                t->self_closing = 1;
                return p + 1;
            }
            continue;
        }
        Py_ssize_t name_start = p++;
        while (p < n && !is_space(in[p]) && in[p] != '/' && in[p] != '>' && in[p] != '=') p++;
        Py_ssize_t name_end = p;
        while (p < n && is_space(in[p])) p++;
        if (p >= n) return -1;
        const unsigned char *value = NULL;
        Py_ssize_t value_len = 0;
        int has_value = 0;
        if (in[p] == '=') {
            p++;
            while (p < n && is_space(in[p])) p++;
            if (p >= n) return -1;
            if (in[p] == '"' || in[p] == '\'') {
                const unsigned char *close = memchr(in + p + 1, in[p], n - p - 1);
                if (close == NULL) return -1;
                value = in + p + 1;
                value_len = close - value;
                has_value = 1;
                p = close - in + 1;
            } else if (in[p] != '>') {
                Py_ssize_t v = p;
                while (p < n && !is_space(in[p]) && in[p] != '>') p++;
                if (p >= n) return -1;
                value = in + v;
                value_len = p - v;
                has_value = 1;
            }
        }
        if (end) continue;
        Py_ssize_t name_len = name_end - name_start;
        if (t->tag == T_INPUT && has_value && name_len == 4 && ascii_ieq(in + name_start, (const unsigned char *)"type", 4)) {
            Py_ssize_t mark = P->arena.len;
            Ref type = text_ref(P, value, value_len, 1);
            if (type.len == 6 && ascii_ieq(ref_ptr(P, type), (const unsigned char *)"hidden", 6)) t->hidden = 1;
            P->arena.len = mark;
        }
        /* a repeated attribute name is dropped: the first one counts. Names the tables know are told apart by
           id at once (a tag with 50,000 attributes compared each with all before it); other names are compared
           with the other names before them, except in soup, where nothing reads them */
        int id = attr_id(in + name_start, name_len), duplicate = 0;
        if (id) {
            duplicate = P->attr_seen[id] == P->attr_mark;
            P->attr_seen[id] = P->attr_mark;
        } else if (!P->soup) {
            for (int k = 0; k < t->attr_count; k++) {
                Attr *a = &P->attrs[t->attr_first + k];
                STEP(P, 1);
                if (a->id) continue;
                if (a->name_len == name_len && ascii_ieq(a->name, in + name_start, name_len)) {
                    duplicate = 1;
                    break;
                }
            }
        }
        if (duplicate) continue;
        RESERVE(P, P->attrs, P->n_attrs, P->cap_attrs);
        P->attrs[P->n_attrs++] = (Attr){in + name_start, name_len, value, value_len, id, has_value};
        t->attr_count++;
    }
}

static int quirks_of_doctype(const unsigned char *name, Py_ssize_t name_len, int force, const unsigned char *pub,
                             Py_ssize_t pub_len, const unsigned char *sys, Py_ssize_t sys_len) {
    static const char *quirk_prefixes[] = {
        "+//silmaril//dtd html pro v0r11 19970101//", "-//as//dtd html 3.0 aswedit + extensions//",
        "-//advasoft ltd//dtd html 3.0 aswedit + extensions//", "-//ietf//dtd html 2.0 level 1//",
        "-//ietf//dtd html 2.0 level 2//", "-//ietf//dtd html 2.0 strict level 1//",
        "-//ietf//dtd html 2.0 strict level 2//", "-//ietf//dtd html 2.0 strict//", "-//ietf//dtd html 2.0//",
        "-//ietf//dtd html 2.1e//", "-//ietf//dtd html 3.0//", "-//ietf//dtd html 3.2 final//",
        "-//ietf//dtd html 3.2//", "-//ietf//dtd html 3//", "-//ietf//dtd html level 0//",
        "-//ietf//dtd html level 1//", "-//ietf//dtd html level 2//", "-//ietf//dtd html level 3//",
        "-//ietf//dtd html strict level 0//", "-//ietf//dtd html strict level 1//",
        "-//ietf//dtd html strict level 2//", "-//ietf//dtd html strict level 3//", "-//ietf//dtd html strict//",
        "-//ietf//dtd html//", "-//metrius//dtd metrius presentational//",
        "-//microsoft//dtd internet explorer 2.0 html strict//", "-//microsoft//dtd internet explorer 2.0 html//",
        "-//microsoft//dtd internet explorer 2.0 tables//", "-//microsoft//dtd internet explorer 3.0 html strict//",
        "-//microsoft//dtd internet explorer 3.0 html//", "-//microsoft//dtd internet explorer 3.0 tables//",
        "-//netscape comm. corp.//dtd html//", "-//netscape comm. corp.//dtd strict html//",
        "-//o'reilly and associates//dtd html 2.0//", "-//o'reilly and associates//dtd html extended 1.0//",
        "-//o'reilly and associates//dtd html extended relaxed 1.0//",
        "-//sq//dtd html 2.0 hotmetal + extensions//",
        "-//softquad software//dtd hotmetal pro 6.0::19990601::extensions to html 4.0//",
        "-//softquad//dtd hotmetal pro 4.0::19971010::extensions to html 4.0//",
        "-//spyglass//dtd html 2.0 extended//", "-//sun microsystems corp.//dtd hotjava html//",
        "-//sun microsystems corp.//dtd hotjava strict html//", "-//w3c//dtd html 3 1995-03-24//",
        "-//w3c//dtd html 3.2 draft//", "-//w3c//dtd html 3.2 final//", "-//w3c//dtd html 3.2//",
        "-//w3c//dtd html 3.2s draft//", "-//w3c//dtd html 4.0 frameset//", "-//w3c//dtd html 4.0 transitional//",
        "-//w3c//dtd html experimental 19960712//", "-//w3c//dtd html experimental 970421//",
        "-//w3c//dtd w3 html//", "-//w3o//dtd w3 html 3.0//", "-//webtechs//dtd mozilla html 2.0//",
        "-//webtechs//dtd mozilla html//", NULL,
    };
    static const char *quirk_exact[] = {"-//w3o//dtd w3 html strict 3.0//en//", "-/w3c/dtd html 4.0 transitional/en",
                                        "html", NULL};
#define STARTS(s, len, prefix) ((len) >= (Py_ssize_t)strlen(prefix) && ascii_ieq((s), (const unsigned char *)(prefix), (Py_ssize_t)strlen(prefix)))
#define EQUALS(s, len, text) ((len) == (Py_ssize_t)strlen(text) && ascii_ieq((s), (const unsigned char *)(text), (len)))
    if (force || name == NULL || name_len != 4 || memcmp(name, "html", 4) != 0) return 1;
    if (pub) {
        for (int i = 0; quirk_exact[i]; i++)
            if (EQUALS(pub, pub_len, quirk_exact[i])) return 1;
        for (int i = 0; quirk_prefixes[i]; i++)
            if (STARTS(pub, pub_len, quirk_prefixes[i])) return 1;
        /* lexbor counts an empty system identifier as missing */
        if (sys_len == 0 && (STARTS(pub, pub_len, "-//w3c//dtd html 4.01 frameset//") ||
                            STARTS(pub, pub_len, "-//w3c//dtd html 4.01 transitional//")))
            return 1;
    }
    if (sys && EQUALS(sys, sys_len, "http://www.ibm.com/data/dtd/v11/ibmxhtml1-transitional.dtd")) return 1;
    return 0;
#undef STARTS
#undef EQUALS
}

/* The doctype starting at `p` (after "<!doctype"): whether it sets quirks mode, and the position after it. */
static Py_ssize_t parse_doctype(Parser *P, Py_ssize_t p, int *quirks) {
    const unsigned char *in = P->in;
    Py_ssize_t n = P->n;
    const unsigned char *name = NULL, *pub = NULL, *sys = NULL;
    Py_ssize_t name_len = 0, pub_len = 0, sys_len = 0;
    int force = 0;
    char lowname[5];
#define END_OR(cond)                                                                                          \
    do {                                                                                                      \
        if (p >= n) {                                                                                         \
            *quirks = 1;                                                                                      \
            return n;                                                                                         \
        }                                                                                                     \
    } while (0)
    while (p < n && is_space(in[p])) p++;
    END_OR(0);
    if (in[p] == '>') {
        *quirks = 1;
        return p + 1;
    }
    Py_ssize_t s = p;
    while (p < n && !is_space(in[p]) && in[p] != '>') p++;
    name = in + s;
    name_len = p - s;
    if (name_len == 4) {
        for (int k = 0; k < 4; k++) lowname[k] = (char)lower(name[k]);
        name = (const unsigned char *)lowname;
    }
    END_OR(0);
    while (p < n && is_space(in[p])) p++;
    END_OR(0);
    if (in[p] == '>') {
        *quirks = quirks_of_doctype(name, name_len, 0, NULL, 0, NULL, 0);
        return p + 1;
    }
    int keyword = 0; /* 1 public, 2 system */
    if (p + 6 <= n && ascii_ieq(in + p, (const unsigned char *)"public", 6)) keyword = 1;
    else if (p + 6 <= n && ascii_ieq(in + p, (const unsigned char *)"system", 6)) keyword = 2;
    if (!keyword) {
        force = 1;
        goto bogus;
    }
    p += 6;
    for (int round = 0; round < 2; round++) {
        /* after the keyword (or after the public identifier): optional whitespace, then a quoted id */
        while (p < n && is_space(in[p])) p++;
        END_OR(0);
        if (in[p] == '>') {
            if (round == 0) force = 1;
            p++;
            goto done;
        }
        if (in[p] != '"' && in[p] != '\'') {
            force = 1;
            goto bogus;
        }
        unsigned char q = in[p++];
        Py_ssize_t id = p;
        while (p < n && in[p] != q && in[p] != '>') p++;
        END_OR(0);
        if (keyword == 1 && round == 0) {
            pub = in + id;
            pub_len = p - id;
        } else {
            sys = in + id;
            sys_len = p - id;
        }
        if (in[p] == '>') {
            force = 1;
            p++;
            goto done;
        }
        p++;
        if (keyword == 2 || round == 1) {
            while (p < n && is_space(in[p])) p++;
            END_OR(0);
            if (in[p] == '>') {
                p++;
                goto done;
            }
            goto bogus; /* junk after the system identifier: bogus, but no forced quirks */
        }
    }
bogus:
    while (p < n && in[p] != '>') p++;
    if (p >= n) {
        *quirks = 1;
        return n;
    }
    p++;
done:
    *quirks = quirks_of_doctype(name, name_len, force, pub, pub_len, sys, sys_len);
    return p;
#undef END_OR
}

/* The end of a comment starting after "<!--" at p: the position after its closing '>' (or n). */
static Py_ssize_t comment_end(const unsigned char *in, Py_ssize_t p, Py_ssize_t n) {
    if (p < n && in[p] == '>') return p + 1;
    if (p + 1 < n && in[p] == '-' && in[p + 1] == '>') return p + 2;
    for (;;) {
        const unsigned char *dash = memchr(in + p, '-', n - p);
        if (dash == NULL) return n;
        p = dash - in;
        if (p + 2 < n && in[p + 1] == '-' && in[p + 2] == '>') return p + 3;
        if (p + 3 < n && in[p + 1] == '-' && in[p + 2] == '!' && in[p + 3] == '>') return p + 4;
        p++;
    }
}

/* Whether in[p:] starts with "</name" followed by whitespace, '/' or '>' (an appropriate end tag). */
static int end_tag_at(const unsigned char *in, Py_ssize_t p, Py_ssize_t n, const unsigned char *name, Py_ssize_t len) {
    if (p + 2 + len >= n || in[p + 1] != '/') return 0;
    if (!ascii_ieq(in + p + 2, name, len)) return 0;
    unsigned char c = in[p + 2 + len];
    return is_space(c) || c == '/' || c == '>';
}

/* The start of the end tag closing RAWTEXT/RCDATA content at p, or n. */
static Py_ssize_t raw_end(const unsigned char *in, Py_ssize_t p, Py_ssize_t n, const unsigned char *name, Py_ssize_t len) {
    for (;;) {
        const unsigned char *lt = memchr(in + p, '<', n - p);
        if (lt == NULL) return n;
        p = lt - in;
        if (end_tag_at(in, p, n, name, len)) return p;
        p++;
    }
}

/* In soup, where the raw text of the open `e` (a <textarea>, <title>, ...) read at `from` ends: its end tag, or
   the page's end. Each tag's search only moves forward (a later element of the same tag inside the text found
   last reuses it), so that soup stays linear whatever the nesting. */
static Py_ssize_t soup_text_end(Parser *P, const Elem *e, Py_ssize_t from) {
    int tag = e->tag;
    if (P->soup_text_end[tag] > 0 && P->soup_text_from[tag] <= from && from <= P->soup_text_end[tag])
        return P->soup_text_end[tag];
    P->soup_text_from[tag] = from;
    P->soup_text_end[tag] = raw_end(P->in, from, P->n, e->name, e->name_len);
    return P->soup_text_end[tag];
}

/* The start of "</script" closing script data at p (with the escaped and double-escaped states), or n. */
static Py_ssize_t script_end(const unsigned char *in, Py_ssize_t p, Py_ssize_t n) {
    static const unsigned char script[] = "script";
    enum { DATA, ESC, ESC_DASH, ESC_DASH_DASH, DESC, DESC_DASH, DESC_DASH_DASH } st = DATA;
    while (p < n) {
        unsigned char c = in[p];
        switch (st) {
        case DATA: {
            const unsigned char *lt = memchr(in + p, '<', n - p);
            if (lt == NULL) return n;
            p = lt - in;
            if (end_tag_at(in, p, n, script, 6)) return p;
            if (p + 3 < n && in[p + 1] == '!' && in[p + 2] == '-' && in[p + 3] == '-') {
                st = ESC_DASH_DASH;
                p += 4;
            } else {
                p++;
            }
            continue;
        }
        case ESC:
        case ESC_DASH:
        case ESC_DASH_DASH:
            if (c == '-') {
                st = st == ESC ? ESC_DASH : ESC_DASH_DASH;
                p++;
            } else if (c == '<') {
                if (end_tag_at(in, p, n, script, 6)) return p;
                p++;
                st = ESC;
                if (p < n && is_alpha(in[p])) { /* double escape start */
                    Py_ssize_t s = p;
                    while (p < n && is_alpha(in[p])) p++;
                    if (p < n && (is_space(in[p]) || in[p] == '/' || in[p] == '>')) {
                        if (p - s == 6 && ascii_ieq(in + s, script, 6)) st = DESC;
                        p++;
                    }
                }
            } else if (c == '>' && st == ESC_DASH_DASH) {
                st = DATA;
                p++;
            } else {
                st = ESC;
                p++;
            }
            continue;
        case DESC:
        case DESC_DASH:
        case DESC_DASH_DASH:
            if (c == '-') {
                st = st == DESC ? DESC_DASH : DESC_DASH_DASH;
                p++;
            } else if (c == '<') {
                p++;
                st = DESC;
                if (p < n && in[p] == '/') { /* double escape end */
                    p++;
                    Py_ssize_t s = p;
                    while (p < n && is_alpha(in[p])) p++;
                    if (p < n && (is_space(in[p]) || in[p] == '/' || in[p] == '>')) {
                        if (p - s == 6 && ascii_ieq(in + s, script, 6)) st = ESC;
                        p++;
                    }
                }
            } else if (c == '>' && st == DESC_DASH_DASH) {
                st = DATA;
                p++;
            } else {
                st = DESC;
                p++;
            }
            continue;
        }
    }
    return n;
}

/* in[a:b] with CR LF and CR made LF, as raw text and CDATA reach the DOM */
static Ref newlines_ref(Parser *P, Py_ssize_t a, Py_ssize_t b) {
    Ref text = {P->arena.len, 0, 1};
    for (Py_ssize_t i = a; i < b; i++) {
        if (P->in[i] == '\r') {
            put_utf8(P, '\n');
            if (i + 1 < b && P->in[i + 1] == '\n') i++;
        } else {
            put_bytes(P, P->in + i, 1);
        }
    }
    text.len = P->arena.len - text.off;
    return text;
}

static void store_style_text(Parser *P, Py_ssize_t a, Py_ssize_t b) {
    int style = current(P);
    if (E(style)->ctx == CTX_TMPL || b <= a || !has_css_url(P->in + a, b - a)) return;
    Ref css = {a, b - a, 0};
    if (memchr(P->in + a, '\r', b - a)) css = newlines_ref(P, a, b); /* raw text: no character references */
    RESERVE(P, P->style_texts, P->n_style_texts, P->cap_style_texts);
    P->style_texts[P->n_style_texts++] = css;
}

static void tokenize(Parser *P) {
    const unsigned char *in = P->in;
    Py_ssize_t n = P->n, pos = 0;
    Token t;
    while (pos < n) {
        if (P->tok_state != TS_DATA) {
            int raw = current(P);
            Py_ssize_t end;
            if (P->tok_state == TS_SCRIPT) end = script_end(in, pos, n);
            else end = raw_end(in, pos, n, E(raw)->name, E(raw)->name_len);
            if (P->soup && pos <= P->soup_raw_end && end > P->soup_raw_end) end = P->soup_raw_end; /* soup_resume */
            if (E(raw)->tag == T_STYLE) store_style_text(P, pos, end);
            if (end > pos && P->tok_state != TS_SCRIPT && E(raw)->tag != T_STYLE)
                emit_text(P, pos, end, P->tok_state == TS_RCDATA);
            P->tok_state = TS_DATA;
            if (end >= n) {
                pos = n;
                break;
            }
            P->n_attrs = 0;
            Py_ssize_t after = parse_tag(P, end, 1, &t);
            if (after < 0) {
                pos = n;
                break;
            }
            process(P, &t);
            pos = after;
            continue;
        }
        Py_ssize_t text_start = pos, i = pos;
        for (;;) {
            const unsigned char *lt = memchr(in + pos, '<', n - pos);
            if (lt == NULL) {
                emit_text(P, text_start, n, 1);
                return;
            }
            i = lt - in;
            if (i + 1 >= n) {
                emit_text(P, text_start, n, 1);
                return;
            }
            unsigned char c = in[i + 1];
            if (is_alpha(c)) {
                emit_text(P, text_start, i, 1);
                P->n_attrs = 0;
                Py_ssize_t after = parse_tag(P, i, 0, &t);
                if (after < 0) { /* the page ends inside the tag: dropped */
                    if ((pos = soup_resume(P, i, n)) >= n) return;
                    break;
                }
                P->tag_end = after;
                if (!P->lenient) { /* the one place these stop the scan: only the tokenizer makes start tags */
                    if (t.tag == T_PLAINTEXT) fail(P, "plaintext");
                    if (t.tag == T_FRAMESET) fail(P, "frameset");
                }
                process(P, &t);
                pos = after;
                break;
            }
            if (c == '/') {
                if (i + 2 >= n) { /* "</" at the end: text */
                    emit_text(P, text_start, n, 1);
                    return;
                }
                emit_text(P, text_start, i, 1);
                if (is_alpha(in[i + 2])) {
                    P->n_attrs = 0;
                    Py_ssize_t after = parse_tag(P, i, 1, &t);
                    if (after < 0) {
                        if ((pos = soup_resume(P, i, n)) >= n) return;
                        break;
                    }
                    process(P, &t);
                    pos = after;
                } else if (in[i + 2] == '>') {
                    pos = i + 3; /* "</>" is dropped */
                } else { /* bogus comment up to '>' */
                    const unsigned char *gt = memchr(in + i + 2, '>', n - i - 2);
                    t.type = TK_COMMENT;
                    process(P, &t);
                    pos = gt ? gt - in + 1 : n;
                }
                break;
            }
            if (c == '!') {
                emit_text(P, text_start, i, 1);
                if (i + 3 < n && in[i + 2] == '-' && in[i + 3] == '-') { /* in soup: see soup_resume */
                    /* cut at the raw text's end tag, which HTML reads first; but in a <style> whose text is taken
                       as SVG's, the comment may hide that end tag from lexbor: it runs on, and soup_resume goes
                       back to the end tag and keeps the style open */
                    int svg_style = P->soup_css_node && current_tag(P) == T_STYLE;
                    Py_ssize_t limit = n;
                    if (P->soup && !svg_style) {
                        if (i < P->soup_raw_end) limit = P->soup_raw_end;
                        /* a text container read inside an earlier one's text (an SVG view: a tag that breaks
                           out of it, a <textarea> after) ends its own text first */
                        const Elem *open = P->depth ? E(current(P)) : NULL;
                        if (open && soup_text_container(open->tag) && open->tag != T_PLAINTEXT) {
                            Py_ssize_t own = soup_text_end(P, open, i);
                            if (own < limit) limit = own;
                        }
                    }
                    pos = comment_end(in, i + 4, limit);
                    if (svg_style && i < P->soup_raw_end && pos > P->soup_raw_end) P->soup_css_from = pos;
                    t.type = TK_COMMENT;
                    process(P, &t);
                } else if (i + 9 <= n && ascii_ieq(in + i + 2, (const unsigned char *)"doctype", 7)) {
                    int quirks = 0;
                    pos = parse_doctype(P, i + 9, &quirks);
                    t.type = TK_DOCTYPE;
                    t.quirks = quirks;
                    process(P, &t);
                } else if (i + 9 <= n && memcmp(in + i + 2, "[CDATA[", 7) == 0 && P->depth && !P->soup &&
                           E(current(P))->ns != NS_HTML) { /* in foreign content, text */
                    const unsigned char *close = in + i + 9;
                    while ((close = memchr(close, ']', n - (close - in))) != NULL &&
                           (n - (close - in) < 3 || close[1] != ']' || close[2] != '>'))
                        close++;
                    Py_ssize_t end = close ? close - in : n;
                    Token text = {.type = TK_TEXT};
                    text.text = (Ref){i + 9, end - (i + 9), 0};
                    if (memchr(in + i + 9, '\r', end - (i + 9))) text.text = newlines_ref(P, i + 9, end);
                    if (text.text.len) process(P, &text);
                    pos = close ? end + 3 : n;
                } else { /* bogus comment, "<![CDATA[" in HTML content included; and in soup, where there is no
                            tree to tell foreign content: a bogus comment ends at or before the "]]>" of a CDATA
                            section, so every element after it lexbor may see is seen */
                    const unsigned char *gt = memchr(in + i + 2, '>', n - i - 2);
                    t.type = TK_COMMENT;
                    process(P, &t);
                    pos = gt ? gt - in + 1 : n;
                }
                break;
            }
            if (c == '?') {
                emit_text(P, text_start, i, 1);
                const unsigned char *gt = memchr(in + i + 1, '>', n - i - 1);
                t.type = TK_COMMENT;
                process(P, &t);
                pos = gt ? gt - in + 1 : n;
                break;
            }
            pos = i + 1; /* a '<' that starts nothing is text */
        }
        pos = soup_resume(P, i, pos);
    }
}

/* ---------------------------------------------------------------------------------------------------- */
/* resolution: pipelines.urls.whatwg.Resolver's shortcut                                                        */

static unsigned char PATH_CHARS[256]; /* [A-Za-z0-9\-._~!$&()*+,;=:@/] of ALREADY_NORMAL */

static void init_path_chars(void) {
    for (int c = 0; c < 256; c++) PATH_CHARS[c] = is_alnum((unsigned char)c) || (c && strchr("-._~!$&()*+,;=:@/", c));
}

static inline int path_char(unsigned char c) { return PATH_CHARS[c]; }

/* ALREADY_NORMAL.fullmatch(s): an absolute http(s) URL the WHATWG parser returns unchanged. */
static int already_normal(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t p;
    if (n >= 7 && memcmp(s, "http://", 7) == 0) p = 7;
    else if (n >= 8 && memcmp(s, "https://", 8) == 0) p = 8;
    else return 0;
    /* host: two or more labels of [a-z0-9-], none starting "xn--", the last starting with a letter */
    int labels = 0;
    for (;;) {
        Py_ssize_t start = p;
        while (p < n && ((s[p] >= 'a' && s[p] <= 'z') || (s[p] >= '0' && s[p] <= '9') || s[p] == '-')) p++;
        if (p == start || p >= n) return 0;
        if (p - start >= 4 && memcmp(s + start, "xn--", 4) == 0) return 0;
        labels++;
        if (s[p] == '.') {
            p++;
            continue;
        }
        if (s[p] != '/' || labels < 2 || !(s[start] >= 'a' && s[start] <= 'z')) return 0;
        break;
    }
    /* path: allowed characters, no "." or ".." segment */
    Py_ssize_t seg = ++p;
    for (;; p++) {
        unsigned char c = p < n ? s[p] : 0;
        if (p >= n || c == '/' || c == '?' || c == '#') {
            Py_ssize_t len = p - seg;
            if ((len == 1 && s[seg] == '.') || (len == 2 && s[seg] == '.' && s[seg + 1] == '.')) return 0;
            if (p >= n || c != '/') break;
            seg = p + 1;
            continue;
        }
        if (!path_char(c)) return 0;
    }
    if (p < n && s[p] == '?') {
        for (p++; p < n && s[p] != '#'; p++)
            if (!path_char(s[p]) && s[p] != '?') return 0;
    }
    return p >= n || s[p] == '#';
}

typedef struct {
    const unsigned char *base;
    Py_ssize_t origin_len, directory_len, scheme_len; /* prefixes of base */
} JoinBase;

static int join_base(const unsigned char *base, Py_ssize_t n, JoinBase *out) {
    if (base == NULL || !already_normal(base, n)) return 0;
    out->base = base;
    out->scheme_len = base[4] == 's' ? 5 : 4;
    Py_ssize_t p = out->scheme_len + 3;
    while (p < n && base[p] != '/' && base[p] != '?' && base[p] != '#') p++;
    out->origin_len = p;
    Py_ssize_t end = p;
    while (end < n && base[end] != '?' && base[end] != '#') end++;
    Py_ssize_t slash = end;
    while (slash > p && base[slash - 1] != '/') slash--;
    out->directory_len = slash;
    return 1;
}

static PyObject *without_fragment(PyObject *url_obj, const unsigned char *s, Py_ssize_t n) {
    const unsigned char *hash = memchr(s, '#', n);
    if (hash == NULL) {
        if (url_obj) {
            Py_INCREF(url_obj);
            return url_obj;
        }
        return PyUnicode_DecodeUTF8((const char *)s, n, "strict");
    }
    return PyUnicode_DecodeUTF8((const char *)s, hash - s, "strict");
}

/* The resolved URL by the shortcut, or NULL without an error set when `resolver` must answer. */
static PyObject *resolve_fast(PyObject *raw, const JoinBase *base, int have_base, Buf *scratch) {
    Py_ssize_t n;
    const unsigned char *s = (const unsigned char *)PyUnicode_AsUTF8AndSize(raw, &n);
    if (s == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (already_normal(s, n)) return without_fragment(raw, s, n);
    if (!have_base || n == 0) return NULL;
    const unsigned char *prefix;
    Py_ssize_t prefix_len;
    if (s[0] == '/') {
        prefix = base->base;
        if (n > 1 && s[1] == '/') {
            prefix_len = base->scheme_len;
            /* f"{scheme}:{raw}" */
            Py_ssize_t size = prefix_len + 1 + n;
            if (scratch->cap < size) {
                char *bigger = realloc(scratch->data, size);
                if (bigger == NULL) return NULL;
                scratch->data = bigger;
                scratch->cap = size;
            }
            memcpy(scratch->data, prefix, prefix_len);
            scratch->data[prefix_len] = ':';
            memcpy(scratch->data + prefix_len + 1, s, n);
            if (!already_normal((unsigned char *)scratch->data, size)) return NULL;
            return without_fragment(NULL, (unsigned char *)scratch->data, size);
        }
        prefix_len = base->origin_len;
    } else {
        if (s[0] == '?' || s[0] == '#' || memchr(s, ':', n)) return NULL;
        prefix = base->base;
        prefix_len = base->directory_len;
        /* leading "./" and "../" as the URL parser takes them: "../" drops the directory's last segment,
           never the root (Resolver._joined does the same) */
        for (;;) {
            if (n >= 2 && s[0] == '.' && s[1] == '/') {
                s += 2, n -= 2;
            } else if (n == 1 && s[0] == '.') {
                s += 1, n = 0;
            } else if (n >= 2 && s[0] == '.' && s[1] == '.' && (n == 2 || s[2] == '/')) {
                Py_ssize_t step = n == 2 ? 2 : 3;
                s += step, n -= step;
                if (prefix_len > base->origin_len + 1) {
                    Py_ssize_t p = prefix_len - 1; /* the directory's trailing '/' */
                    while (p > base->origin_len && prefix[p - 1] != '/') p--;
                    prefix_len = p;
                }
            } else {
                break;
            }
        }
    }
    Py_ssize_t size = prefix_len + n;
    if (scratch->cap < size) {
        char *bigger = realloc(scratch->data, size);
        if (bigger == NULL) return NULL;
        scratch->data = bigger;
        scratch->cap = size;
    }
    memcpy(scratch->data, prefix, prefix_len);
    memcpy(scratch->data + prefix_len, s, n);
    if (!already_normal((unsigned char *)scratch->data, size)) return NULL;
    return without_fragment(NULL, (unsigned char *)scratch->data, size);
}

/* ---------------------------------------------------------------------------------------------------- */
/* results: (kind, raw_url, resolved_url) in lexbor's order                                              */

static PyObject *ref_str(Parser *P, Ref r) {
    if (r.src < 0) Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8((const char *)ref_ptr(P, r), r.len, "strict");
}

static Py_ssize_t find3(const unsigned char *p, Py_ssize_t n) { /* "://": memchr for ':' beats memmem */
    const unsigned char *at = p, *end = p + n;
    while (end - at >= 3 && (at = memchr(at, ':', end - at - 2)) != NULL) {
        if (at[1] == '/' && at[2] == '/') return at - p;
        at++;
    }
    return -1;
}

typedef struct {
    PyObject *out;      /* the list of (kind, raw_url, resolved_url) */
    PyObject *base_url; /* what links resolve against: the document URL or the <base href> */
    PyObject *resolver; /* Resolver(base_url), made for the first link the shortcut leaves to it */
    JoinBase base;
    int have_base;
    Buf scratch;
    Py_ssize_t max_links; /* links kept at most (-1: all); the others are only counted */
    Py_ssize_t dropped;
} Output;

/* Appends (kind, raw, resolved); steals `raw`. */
static int emit(Output *o, PyObject *kind, PyObject *raw) {
    if (raw == NULL) return -1;
    if (o->max_links >= 0 && PyList_GET_SIZE(o->out) >= o->max_links) {
        o->dropped++;
        Py_DECREF(raw);
        return 0;
    }
    PyObject *resolved = resolve_fast(raw, &o->base, o->have_base, &o->scratch);
    if (resolved == NULL) {
        if (PyErr_Occurred()) goto error;
        if (o->resolver == NULL && (o->resolver = PyObject_CallOneArg(RESOLVER, o->base_url)) == NULL) goto error;
        if ((resolved = PyObject_CallOneArg(o->resolver, raw)) == NULL) goto error;
    }
    PyObject *triple = PyTuple_New(3);
    if (triple == NULL) {
        Py_DECREF(resolved);
        goto error;
    }
    Py_INCREF(kind);
    PyTuple_SET_ITEM(triple, 0, kind);
    PyTuple_SET_ITEM(triple, 1, raw);
    PyTuple_SET_ITEM(triple, 2, resolved);
    int status = PyList_Append(o->out, triple);
    Py_DECREF(triple);
    return status;
error:
    Py_DECREF(raw);
    return -1;
}

/* Appends the (kind, raw) pairs a helper returned (a list, or None); steals `pairs`. */
static int emit_pairs(Output *o, PyObject *pairs) {
    if (pairs == NULL) return -1;
    int status = 0;
    if (pairs != Py_None) {
        PyObject *seq = PySequence_Fast(pairs, "helpers return (kind, raw) pairs");
        for (Py_ssize_t i = 0; seq && status == 0 && i < PySequence_Fast_GET_SIZE(seq); i++) {
            PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);
            if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
                PyErr_SetString(PyExc_TypeError, "helpers return (kind, raw) pairs");
                status = -1;
                break;
            }
            PyObject *raw = PyTuple_GET_ITEM(pair, 1);
            Py_INCREF(raw);
            status = emit(o, PyTuple_GET_ITEM(pair, 0), raw);
        }
        if (seq == NULL) status = -1;
        Py_XDECREF(seq);
    }
    Py_DECREF(pairs);
    return status;
}

/* The URL links resolve against: the first <base href>, resolved against the document URL, if it resolves. */
static PyObject *base_url_of(Parser *P, PyObject *document_url, Buf *scratch) {
    if (P->base_seen) {
        Ref href = strip_ref(P, P->base_href);
        if (href.len) {
            JoinBase doc;
            int have_doc = 0;
            Py_ssize_t n;
            const char *d = document_url == Py_None ? NULL : PyUnicode_AsUTF8AndSize(document_url, &n);
            if (d) have_doc = join_base((const unsigned char *)d, n, &doc);
            else PyErr_Clear();
            PyObject *raw = ref_str(P, href);
            if (raw == NULL) return NULL;
            PyObject *resolved = resolve_fast(raw, &doc, have_doc, scratch);
            if (resolved == NULL && !PyErr_Occurred()) {
                PyObject *resolver = PyObject_CallOneArg(RESOLVER, document_url);
                if (resolver) resolved = PyObject_CallOneArg(resolver, raw);
                Py_XDECREF(resolver);
            }
            Py_DECREF(raw);
            if (resolved == NULL) return NULL;
            if (PyUnicode_Check(resolved) && PyUnicode_GET_LENGTH(resolved) > 0) return resolved;
            Py_DECREF(resolved);
        }
    }
    Py_INCREF(document_url);
    return document_url;
}

/* The text of a text node: its one run, or its runs joined in `joined`; -1 when out of memory. */
static int node_text(Parser *P, const TextNode *node, Buf *joined, const unsigned char **data, Py_ssize_t *size) {
    TextRun *run = &P->runs[node->head];
    if (run->next < 0) {
        *data = ref_ptr(P, run->text);
        *size = run->text.len;
        return 0;
    }
    /* text merged over markup that made no node (an ignored end tag, a comment after </body>) */
    joined->len = 0;
    for (int r = node->head; r >= 0; r = P->runs[r].next) {
        Ref part = P->runs[r].text;
        if (joined->len + part.len > joined->cap) { /* not buf_reserve: no longjmp past Python objects */
            Py_ssize_t cap = (joined->len + part.len) * 2;
            char *bigger = realloc(joined->data, cap);
            if (bigger == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            joined->data = bigger;
            joined->cap = cap;
        }
        memcpy(joined->data + joined->len, ref_ptr(P, part), part.len);
        joined->len += part.len;
    }
    *data = (const unsigned char *)joined->data;
    *size = joined->len;
    return 0;
}

static int emit_item(Parser *P, Output *o, const Item *item) {
    if (item->kind == KIND_META) {
        PyObject *equiv = ref_str(P, item->raw), *content = equiv ? ref_str(P, item->extra) : NULL;
        PyObject *pair = content ? PyObject_CallFunctionObjArgs(REFRESH_PAIR, equiv, content, NULL) : NULL;
        Py_XDECREF(equiv);
        Py_XDECREF(content);
        if (pair == NULL) return -1;
        if (pair != Py_None) {
            PyObject *list = PyList_New(1);
            if (list == NULL) {
                Py_DECREF(pair);
                return -1;
            }
            PyList_SET_ITEM(list, 0, pair);
            pair = list;
        }
        return emit_pairs(o, pair);
    }
    PyObject *kind = item->kind == KIND_SRCSET ? SRCSET_KIND : PyTuple_GET_ITEM(KINDS, item->kind);
    return emit(o, kind, ref_str(P, item->raw));
}

static int emit_all(Parser *P, Output *o) {
    /* the items level by level, in document order within a level: a counting sort by level, not a pass over
       all items per level, which is quadratic on nested templates ("<template><img src=x>" repeated) */
    int *order = NULL;
    if (P->max_level > 0) { /* then n_items > 0 */
        int *next = (int *)calloc((size_t)P->max_level + 2, sizeof(int));
        order = (int *)malloc((size_t)P->n_items * sizeof(int));
        if (next == NULL || order == NULL) {
            free(next);
            free(order);
            PyErr_NoMemory();
            return -1;
        }
        for (int i = 0; i < P->n_items; i++) next[P->items[i].level + 1]++;
        for (int level = 1; level <= P->max_level; level++) next[level] += next[level - 1];
        for (int i = 0; i < P->n_items; i++) order[next[P->items[i].level]++] = i;
        free(next);
    }
    for (int k = 0; k < P->n_items; k++) {
        if (emit_item(P, o, &P->items[order ? order[k] : k]) < 0) {
            free(order);
            return -1;
        }
    }
    free(order);
    Buf joined = {NULL, 0, 0};
    for (int pass = 0; pass < 2; pass++) {
        Ref *css = pass ? P->style_attrs : P->style_texts;
        int count = pass ? P->n_style_attrs : P->n_style_texts;
        for (int i = 0; i < count; i++) {
            PyObject *text;
            if (css[i].src == 3) { /* an SVG <style>: the text collected in its node */
                const TextNode *node = &P->nodes[css[i].off];
                const unsigned char *data;
                Py_ssize_t size;
                if (node->head < 0) continue;
                if (node_text(P, node, &joined, &data, &size) < 0) {
                    free(joined.data);
                    return -1;
                }
                if (!has_css_url(data, size)) continue;
                text = PyUnicode_DecodeUTF8((const char *)data, size, "strict");
            } else {
                text = ref_str(P, css[i]);
            }
            if (text == NULL) {
                free(joined.data);
                return -1;
            }
            PyObject *pairs = PyObject_CallOneArg(CSS_PAIRS, text);
            Py_DECREF(text);
            if (emit_pairs(o, pairs) < 0) {
                free(joined.data);
                return -1;
            }
        }
    }
    /* bare URLs: only text nodes with "://" can hold one, and none spans two nodes */
    PyObject *texts = NULL;
    for (int i = 0; i < P->n_nodes; i++) {
        TextNode *node = &P->nodes[i];
        if (node->head < 0 || node->counted != 1) continue;
        const unsigned char *data;
        Py_ssize_t size;
        if (node_text(P, node, &joined, &data, &size) < 0) {
            Py_XDECREF(texts);
            free(joined.data);
            return -1;
        }
        if (find3(data, size) < 0) continue;
        PyObject *text = PyUnicode_DecodeUTF8((const char *)data, size, "strict");
        if (text == NULL || (texts == NULL && (texts = PyList_New(0)) == NULL) || PyList_Append(texts, text) < 0) {
            Py_XDECREF(text);
            Py_XDECREF(texts);
            free(joined.data);
            return -1;
        }
        Py_DECREF(text);
    }
    free(joined.data);
    if (texts != NULL) {
        PyObject *pairs = PyObject_CallOneArg(TEXT_PAIRS, texts);
        Py_DECREF(texts);
        if (emit_pairs(o, pairs) < 0) return -1;
    }
    return 0;
}

static void parser_free(Parser *P) {
    free(P->arena.data);
    free(P->elems);
    free(P->stack);
    free(P->afe);
    free(P->tmpl_modes);
    free(P->attrs);
    free(P->items);
    free(P->style_texts);
    free(P->style_attrs);
    free(P->nodes);
    free(P->runs);
    free(P->pending);
}

/* The buffers of the last parse, kept for the next one: taken and given back with the GIL held, and NULL
   while a call uses them, so that another thread or a call from inside a Resolver gets buffers of its own.
   Growing them page after page costs more than the scan. */
static Parser *SPARE;
#define SPARE_LIMIT (8 << 20)

static Parser *parser_take(void) {
    Parser *P = SPARE;
    SPARE = NULL;
    if (P == NULL) return calloc(1, sizeof(Parser));
    Parser kept = *P;
    memset(P, 0, sizeof(Parser));
#define KEEP(field, cap) P->field = kept.field, P->cap = kept.cap
    P->arena = kept.arena;
    P->arena.len = 0;
    KEEP(elems, cap_elems);
    KEEP(stack, cap_stack);
    KEEP(afe, cap_afe);
    KEEP(tmpl_modes, cap_tmpl_modes);
    KEEP(attrs, cap_attrs);
    KEEP(items, cap_items);
    KEEP(style_texts, cap_style_texts);
    KEEP(style_attrs, cap_style_attrs);
    KEEP(nodes, cap_nodes);
    KEEP(runs, cap_runs);
    KEEP(pending, cap_pending);
#undef KEEP
    return P;
}

static void parser_give_back(Parser *P) {
    size_t held = (size_t)P->arena.cap + (size_t)P->cap_elems * sizeof(Elem) + (size_t)P->cap_items * sizeof(Item) +
                  (size_t)P->cap_nodes * sizeof(TextNode) + (size_t)P->cap_runs * sizeof(TextRun) +
                  (size_t)P->cap_attrs * sizeof(Attr);
    if (SPARE == NULL && held <= SPARE_LIMIT) {
        SPARE = P;
        return;
    }
    parser_free(P);
    free(P);
}

/* The whole page through the tokenizer and tree builder: 1, or 0 with P->reason when it needs lexbor. */
static __attribute__((noinline)) int parse(Parser *P) {
    if (setjmp(P->fail) != 0) return 0;
    if (P->soup) {
        create_html(P, NULL);
        insert_element(P, T_BODY, NULL);
    }
    tokenize(P);
    Token eof = {.type = TK_EOF};
    if (P->mode == M_IN_TABLE_TEXT) flush_table_text(P);
    process(P, &eof);
    return 1;
}

static long long LAST_SCOPE_STEPS; /* of the latest scan (set with the GIL held) */
static Py_ssize_t LAST_DROPPED;    /* links of the latest scan past its max_links */
static int LAST_MAX_DEPTH;         /* the deepest its stack of open elements got */
static PyObject *py_max_depth(PyObject *module, PyObject *unused) { return PyLong_FromLong(LAST_MAX_DEPTH); }
static PyObject *py_dropped(PyObject *module, PyObject *unused) { return PyLong_FromSsize_t(LAST_DROPPED); }

static PyObject *py_scope_steps(PyObject *module, PyObject *unused) { return PyLong_FromLongLong(LAST_SCOPE_STEPS); }
static Py_ssize_t LAST_SOUP_RESCANNED;
static PyObject *py_soup_rescanned(PyObject *module, PyObject *unused) {
    return PyLong_FromSsize_t(LAST_SOUP_RESCANNED);
}

/* The work a page's tree may cost, per byte of the page and at least. Real pages take far less than one unit per
   byte, the deep nestings of the tests up to 16; hostile ones thousands, and they stop once over budget. */
#define BUDGET_PER_BYTE 16
#define BUDGET_FLOOR 1000000

enum { SCAN_STRICT, SCAN_LENIENT, SCAN_SOUP };

static PyObject *links(PyObject *module, PyObject *args) {
    PyObject *html, *document_url;
    int scan = SCAN_STRICT;
    long long budget = -1;
    Py_ssize_t max_links = -1;
    if (!PyArg_ParseTuple(args, "UO|iLn", &html, &document_url, &scan, &budget, &max_links)) return NULL;
    LAST_DROPPED = 0;
    if (scan < SCAN_STRICT || scan > SCAN_SOUP) {
        PyErr_SetString(PyExc_ValueError, "scan must be 0 (strict), 1 (lenient) or 2 (soup)");
        return NULL;
    }
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "_fastlinks.init() was not called");
        return NULL;
    }
    if (document_url != Py_None && !PyUnicode_Check(document_url)) {
        PyErr_SetString(PyExc_TypeError, "document_url must be a str or None");
        return NULL;
    }
    Py_ssize_t n;
    const char *data = PyUnicode_AsUTF8AndSize(html, &n);
    if (data == NULL) { /* lone surrogates: lexbor's path drops them */
        PyErr_Clear();
        return PyUnicode_FromString("surrogates");
    }
    if (memchr(data, 0, n)) return PyUnicode_FromString("NUL");
    Parser *P = parser_take();
    if (P == NULL) return PyErr_NoMemory();
    P->in = (const unsigned char *)data;
    P->n = n;
    P->head_elem = -1;
    P->lenient = scan != SCAN_STRICT;
    P->soup = scan == SCAN_SOUP;
    if (P->soup) P->budget = LLONG_MAX; /* linear by construction */
    else if (budget >= 0) P->budget = budget;
    else P->budget = (long long)BUDGET_PER_BYTE * n + BUDGET_FLOOR;
    PyObject *result = NULL;
    int parsed;
    Py_BEGIN_ALLOW_THREADS /* the scan touches no Python object: threads may extract links side by side */
    parsed = parse(P);
    Py_END_ALLOW_THREADS
    LAST_SCOPE_STEPS = P->scope_steps;
    LAST_MAX_DEPTH = P->max_depth;
    LAST_SOUP_RESCANNED = P->soup_rescanned;
    if (parsed) {
        Output o = {NULL, NULL, NULL, {NULL, 0, 0, 0}, 0, {NULL, 0, 0}, max_links, 0};
        o.base_url = base_url_of(P, document_url, &o.scratch);
        if (o.base_url != NULL && (o.out = PyList_New(0)) != NULL) {
            if (o.base_url != Py_None) {
                Py_ssize_t bn;
                const char *b = PyUnicode_AsUTF8AndSize(o.base_url, &bn);
                if (b) o.have_base = join_base((const unsigned char *)b, bn, &o.base);
                else PyErr_Clear();
            }
            if (emit_all(P, &o) == 0) {
                result = o.out;
                o.out = NULL;
            }
            LAST_DROPPED = o.dropped;
        }
        Py_XDECREF(o.out);
        Py_XDECREF(o.base_url);
        Py_XDECREF(o.resolver);
        free(o.scratch.data);
    } else if (P->no_memory) {
        PyErr_NoMemory();
    } else {
        result = PyUnicode_FromString(P->reason);
    }
    parser_give_back(P);
    return result;
}

static PyObject *py_already_normal(PyObject *module, PyObject *url) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(url, &n);
    if (s == NULL) return NULL;
    return PyBool_FromLong(already_normal((const unsigned char *)s, n));
}

/* join(base_url, raw) -> the shortcut's answer, or None where Resolver would call the parser (for tests) */
static PyObject *py_join(PyObject *module, PyObject *args) {
    PyObject *base_url, *raw;
    if (!PyArg_ParseTuple(args, "OU", &base_url, &raw)) return NULL;
    JoinBase base;
    int have_base = 0;
    if (base_url != Py_None) {
        Py_ssize_t n;
        const char *b = PyUnicode_AsUTF8AndSize(base_url, &n);
        if (b == NULL) return NULL;
        have_base = join_base((const unsigned char *)b, n, &base);
    }
    Buf scratch = {NULL, 0, 0};
    PyObject *resolved = resolve_fast(raw, &base, have_base, &scratch);
    free(scratch.data);
    if (resolved == NULL && !PyErr_Occurred()) Py_RETURN_NONE;
    return resolved;
}

/* ---------------------------------------------------------------------------------------------------- */
/* init                                                                                                 */

static PyObject *init(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"entities", "url_attributes", "srcset_attributes", "skipped_prefixes",
                               "css_pairs", "text_pairs", "refresh_pair", "resolver", NULL};
    PyObject *entities, *url_attributes, *srcset_attributes, *skipped, *css_pairs, *text_pairs, *refresh_pair;
    PyObject *resolver;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!OOOOO", keywords, &PyDict_Type, &entities, &PyDict_Type,
                                     &url_attributes, &PyDict_Type, &srcset_attributes, &skipped, &css_pairs,
                                     &text_pairs, &refresh_pair, &resolver))
        return NULL;
    if (configured) Py_RETURN_NONE;
    if (load_entities(entities) < 0) return NULL;
    A_STYLE = intern_attr("style", 5);
    A_HREF = intern_attr("href", 4);
    A_HTTP_EQUIV = intern_attr("http-equiv", 10);
    A_CONTENT = intern_attr("content", 7);
    A_TYPE = intern_attr("type", 4);
    A_COLOR = intern_attr("color", 5);
    A_FACE = intern_attr("face", 4);
    A_SIZE = intern_attr("size", 4);
    PyObject *kinds = PyList_New(0);
    if (kinds == NULL) return NULL;
    for (int pass = 0; pass < 2; pass++) {
        PyObject *table = pass ? srcset_attributes : url_attributes, *tag_name, *specs;
        Py_ssize_t pos = 0;
        while (PyDict_Next(table, &pos, &tag_name, &specs)) {
            Py_ssize_t tlen;
            const char *tname = PyUnicode_AsUTF8AndSize(tag_name, &tlen);
            if (tname == NULL) goto error;
            int tag = tag_id((const unsigned char *)tname, tlen);
            if (tag == T_OTHER || strlen(TAG_NAMES[tag]) != (size_t)tlen) {
                PyErr_Format(PyExc_ValueError, "no tree-construction rules for <%s>", tname);
                goto error;
            }
            PyObject *seq = PySequence_Fast(specs, "a sequence");
            if (seq == NULL) goto error;
            for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
                PyObject *spec = PySequence_Fast_GET_ITEM(seq, i), *attr = spec, *kind = NULL;
                if (!pass && !PyArg_ParseTuple(spec, "UU", &attr, &kind)) {
                    Py_DECREF(seq);
                    goto error;
                }
                Py_ssize_t alen;
                const char *aname = PyUnicode_AsUTF8AndSize(attr, &alen);
                int id = aname ? intern_attr(aname, alen) : -1;
                TagUrls *urls = &TAG_URLS[tag];
                if (id < 0 || urls->n_urls == MAX_TAG_URLS || urls->n_srcsets == MAX_TAG_URLS) {
                    Py_DECREF(seq);
                    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "too many URL attributes");
                    goto error;
                }
                if (pass) {
                    urls->srcset_attr[urls->n_srcsets++] = id;
                    continue;
                }
                Py_ssize_t k, nk = PyList_GET_SIZE(kinds);
                for (k = 0; k < nk; k++) {
                    int same = PyUnicode_Compare(PyList_GET_ITEM(kinds, k), kind);
                    if (same == 0) break;
                }
                if (k == nk && PyList_Append(kinds, kind) < 0) {
                    Py_DECREF(seq);
                    goto error;
                }
                urls->url_attr[urls->n_urls] = id;
                urls->url_kind[urls->n_urls++] = (int)k;
            }
            Py_DECREF(seq);
        }
    }
    KINDS = PyList_AsTuple(kinds);
    Py_DECREF(kinds);
    if (KINDS == NULL) return NULL;
    PyObject *prefixes = PySequence_Fast(skipped, "skipped_prefixes must be a sequence");
    if (prefixes == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(prefixes) && i < 16; i++) {
        Py_ssize_t len;
        const char *prefix = PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(prefixes, i), &len);
        if (prefix == NULL) {
            Py_DECREF(prefixes);
            return NULL;
        }
        /* str.lower() maps only U+0130 and U+212A to ASCII ("i" + U+0307, "k"): an ASCII comparison is exact
           for lowercase ASCII prefixes without "k" that do not end in "i" */
        for (Py_ssize_t k = 0; k < len; k++)
            if ((unsigned char)prefix[k] >= 128 || (prefix[k] >= 'A' && prefix[k] <= 'Z') || prefix[k] == 'k' ||
                (k == len - 1 && prefix[k] == 'i')) {
                Py_DECREF(prefixes);
                PyErr_SetString(PyExc_ValueError, "skipped prefixes must be lowercase ASCII");
                return NULL;
            }
        SKIPPED[n_skipped] = PyMem_RawMalloc(len + 1);
        memcpy(SKIPPED[n_skipped], prefix, len + 1);
        SKIPPED_LENS[n_skipped++] = len;
    }
    Py_DECREF(prefixes);
    SRCSET_KIND = PyUnicode_InternFromString("srcset");
    Py_INCREF(css_pairs);
    Py_INCREF(text_pairs);
    Py_INCREF(refresh_pair);
    CSS_PAIRS = css_pairs;
    TEXT_PAIRS = text_pairs;
    REFRESH_PAIR = refresh_pair;
    Py_INCREF(resolver);
    RESOLVER = resolver;
    configured = 1;
    Py_RETURN_NONE;
error:
    Py_DECREF(kinds);
    return NULL;
}

static PyMethodDef METHODS[] = {
    {"init", (PyCFunction)(void (*)(void))init, METH_VARARGS | METH_KEYWORDS,
     "init(entities, url_attributes, srcset_attributes, skipped_prefixes, css_pairs, text_pairs, refresh_pair, "
     "resolver)"},
    {"links", links, METH_VARARGS,
     "links(html, document_url, scan=0, budget=-1, max_links=-1) -> [(kind, raw_url, resolved_url)] (the first\n"
     "max_links, -1: all; dropped() counts the others), or why the page needs\n"
     "lexbor (a str; 'budget' when its tree costs more than `budget` units of work, -1: 16 per byte + 1M).\n"
     "scan 1 (lenient) takes <frameset>, <plaintext>, disagreeing bases and markup in an SVG <style> as\n"
     "best it can (for pages too large to risk lexbor's worst case on); scan 2 (soup) builds no tree: linear,\n"
     "every link element found."},
    {"already_normal", py_already_normal, METH_O, "ALREADY_NORMAL.fullmatch(url), in C (for tests)"},
    {"join", py_join, METH_VARARGS, "join(base_url, raw) -> the shortcut's resolved URL or None (for tests)"},
    {"scope_steps", py_scope_steps, METH_NOARGS,
     "the latest scan's work: stack and list entries looked at or moved, elements created (for tests)"},
    {"dropped", py_dropped, METH_NOARGS, "links of the latest scan past its max_links, not kept"},
    {"max_depth", py_max_depth, METH_NOARGS, "the deepest the latest scan's stack of open elements got"},
    {"soup_rescanned", py_soup_rescanned, METH_NOARGS,
     "the bytes the latest soup scan's tokenizer went back over, out of raw text (for tests)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_fastlinks", NULL, -1, METHODS, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastlinks(void) {
    init_tag_flags();
    init_tag_table();
    init_path_chars();
    PyObject *module = PyModule_Create(&MODULE);
    if (module == NULL) return NULL;
    if (PyModule_AddIntConstant(module, "BUDGET_PER_BYTE", BUDGET_PER_BYTE) < 0 ||
        PyModule_AddIntConstant(module, "BUDGET_FLOOR", BUDGET_FLOOR) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
