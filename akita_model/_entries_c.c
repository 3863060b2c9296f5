/*
 * Decode the JSON text of a HAR entry into just what parse_entry reads.
 *
 * orjson.loads makes a Python value of every part of an entry: an object
 * of two strings for each header, cookie and query parameter, the timings,
 * the sizes, the cache. witness.parse_entry then reads a few fields of it
 * and turns each name-value list into a tuple of pairs. scan_entry reads
 * the text once, checks all of it as JSON, and makes only those fields:
 *
 *   entry      startedDateTime, time, request, response, _akita
 *   request    method, url, queryString, headers, cookies, postData
 *   response   status, headers, content
 *   postData,
 *   content    mimeType, text, encoding
 *   _akita     every field, when none of them is an object or an array
 *
 * as dicts with the same keys and values that orjson gives, except that a
 * name-value list comes as the tuple of (name, value) pairs that
 * parse_entry would make of it. Other fields are checked and passed over.
 *
 * It returns None for any text it does not vouch for, JSON or not: a field
 * parse_entry reads that holds a value of another type than it expects, a
 * repeated field, a form's params, an escape in a field name, a lone
 * surrogate, numbers orjson reads differently from C (integers over 18
 * digits) or refuses (doubles that overflow), deep nesting. The caller
 * then parses the text with orjson, which decides: this module never
 * accepts a text that orjson refuses, and for a text it accepts,
 * parse_entry gives the witness it gives for orjson's value (tests
 * compare the two on random entries and on broken texts).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_json_bytes.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Nesting deeper than this in a passed-over value is left to orjson. */
#define MAX_DEPTH 64
/* Longer number tokens are left to orjson. */
#define MAX_NUMBER_LENGTH 64
#define MAX_INTEGER_DIGITS 18

typedef struct {
    const unsigned char *at;
    const unsigned char *end;
    /* Where strings are decoded: as long as the text, and 16 bytes more. */
    unsigned char *buffer;
} Scanner;

/* What a field of a known object holds, and how it is made. */
enum Kind {
    SCALAR, /* a string, number, true, false or null */
    OBJECT, /* an object of the listed fields, or null */
    PAIRS,  /* an array of {"name": str, "value": str}, or null */
    FLAT,   /* an object of scalars, all of its fields kept, or null */
    REFUSE, /* a field whose presence leaves the text to orjson */
};

typedef struct Field Field;

typedef struct {
    Field *fields;
    int count;
} Fields;

struct Field {
    const char *name;
    int kind;
    const Fields *members; /* for OBJECT */
    Py_ssize_t length;     /* filled in at import */
    PyObject *key;         /* the interned name, filled in at import */
};

static Field body_fields[] = {
    {"mimeType", SCALAR, NULL, 0, NULL},
    {"text", SCALAR, NULL, 0, NULL},
    {"encoding", SCALAR, NULL, 0, NULL},
    {"params", REFUSE, NULL, 0, NULL},
};
static const Fields body = {body_fields, 4};

static Field request_fields[] = {
    {"method", SCALAR, NULL, 0, NULL},
    {"url", SCALAR, NULL, 0, NULL},
    {"queryString", PAIRS, NULL, 0, NULL},
    {"headers", PAIRS, NULL, 0, NULL},
    {"cookies", PAIRS, NULL, 0, NULL},
    {"postData", OBJECT, &body, 0, NULL},
};
static const Fields request = {request_fields, 6};

static Field response_fields[] = {
    {"status", SCALAR, NULL, 0, NULL},
    {"headers", PAIRS, NULL, 0, NULL},
    {"content", OBJECT, &body, 0, NULL},
};
static const Fields response = {response_fields, 3};

static Field entry_fields[] = {
    {"startedDateTime", SCALAR, NULL, 0, NULL},
    {"time", SCALAR, NULL, 0, NULL},
    {"request", OBJECT, &request, 0, NULL},
    {"response", OBJECT, &response, 0, NULL},
    {"_akita", FLAT, NULL, 0, NULL},
};
static const Fields entry = {entry_fields, 5};

/* Every failure below returns NULL or -1 with no exception set, except
 * for a failure of Python itself (memory), which keeps its exception. */

static void skip_space(Scanner *scanner)
{
    const unsigned char *at = scanner->at;
    const unsigned char *end = scanner->end;
    while (at < end && (*at == ' ' || *at == '\n' || *at == '\r' || *at == '\t')) {
        at++;
    }
    scanner->at = at;
}

/* The code unit of \uXXXX at text (after the backslash and u), or -1. */
static long hex_unit(const unsigned char *text, const unsigned char *end)
{
    if (end - text < 4) {
        return -1;
    }
    return json_hex4(text);
}

static Py_ssize_t put_utf8(unsigned char *out, long code)
{
    if (code < 0x80) {
        out[0] = (unsigned char)code;
        return 1;
    }
    if (code < 0x800) {
        out[0] = (unsigned char)(0xC0 | (code >> 6));
        out[1] = (unsigned char)(0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (code >> 12));
        out[1] = (unsigned char)(0x80 | ((code >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (code & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (code >> 18));
    out[1] = (unsigned char)(0x80 | ((code >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((code >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (code & 0x3F));
    return 4;
}

static PyObject *ascii_string(const unsigned char *text, Py_ssize_t length)
{
    PyObject *string = PyUnicode_New(length, 127);
    if (string != NULL) {
        memcpy(PyUnicode_1BYTE_DATA(string), text, (size_t)length);
    }
    return string;
}

/* Short strings recur from entry to entry (header and parameter names,
 * media types, methods, many values): the last one made for each of
 * STRING_SLOTS slots is kept and given again, with the hash Python keeps in
 * it, so that the dict lookups of the model builder find it at once. */
#define STRING_SLOTS 4096
#define MAX_KEPT_LENGTH 48

static PyObject *kept_strings[STRING_SLOTS];

static PyObject *short_ascii_string(const unsigned char *text, Py_ssize_t length)
{
    if (length > MAX_KEPT_LENGTH) {
        return ascii_string(text, length);
    }
    PyObject **slot = &kept_strings[json_slot(text, length, STRING_SLOTS)];
    PyObject *kept = *slot;
    if (kept != NULL && PyUnicode_GET_LENGTH(kept) == length &&
        memcmp(PyUnicode_1BYTE_DATA(kept), text, (size_t)length) == 0) {
        Py_INCREF(kept);
        return kept;
    }
    PyObject *string = ascii_string(text, length);
    if (string != NULL) {
        Py_INCREF(string);
        Py_XSETREF(*slot, string);
    }
    return string;
}

/* Decode UTF-8 strictly; NULL with no exception set if it is not UTF-8. */
static PyObject *utf8_string(const unsigned char *text, Py_ssize_t length)
{
    PyObject *string = PyUnicode_DecodeUTF8((const char *)text, length, NULL);
    if (string == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
    }
    return string;
}

/* Decode the string at the scanner (at its opening quote) into the
 * scanner's buffer, escapes and all, and pass over it. Return its length in
 * bytes of UTF-8, and tell in *is_ascii whether they are all ASCII; -1 when
 * the string is cut off, holds a control character, an unknown escape or
 * a lone surrogate. Strings are the bulk of an entry, bodies above all:
 * where SSE2 is there, 16 bytes are copied and tested at a time. */
static Py_ssize_t decode_string(Scanner *scanner, int *is_ascii)
{
    const unsigned char *at = scanner->at + 1;
    const unsigned char *end = scanner->end;
    unsigned char *out = scanner->buffer;
    int ascii = 1;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
#endif
    while (1) {
#if defined(__SSE2__)
        /* The buffer is as long as the text: the output, never longer than
         * what it was read from, has room for the 16 bytes stored. */
        while (end - at >= 16) {
            __m128i chunk = _mm_loadu_si128((const __m128i *)at);
            _mm_storeu_si128((__m128i *)out, chunk);
            /* Signed: bytes past ASCII compare below the space too. */
            __m128i special = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)),
                _mm_cmplt_epi8(chunk, space));
            int mask = _mm_movemask_epi8(special);
            if (mask == 0) {
                at += 16;
                out += 16;
                continue;
            }
            int plain = __builtin_ctz((unsigned int)mask);
            at += plain;
            out += plain;
            break;
        }
#endif
        if (at >= end) {
            return -1;
        }
        unsigned char ch = *at;
        if (ch == '"') {
            scanner->at = at + 1;
            *is_ascii = ascii;
            return out - scanner->buffer;
        }
        if (ch < 0x20) {
            return -1;
        }
        if (ch != '\\') {
            ascii &= ch < 0x80;
            *out++ = ch;
            at++;
            continue;
        }
        if (end - at < 2) {
            return -1;
        }
        unsigned char escape = at[1];
        at += 2;
        switch (escape) {
        case '"':
        case '\\':
        case '/':
            *out++ = escape;
            continue;
        case 'b':
            *out++ = '\b';
            continue;
        case 'f':
            *out++ = '\f';
            continue;
        case 'n':
            *out++ = '\n';
            continue;
        case 'r':
            *out++ = '\r';
            continue;
        case 't':
            *out++ = '\t';
            continue;
        case 'u':
            break;
        default:
            return -1;
        }
        long code = hex_unit(at, end);
        if (code < 0 || (code >= 0xDC00 && code <= 0xDFFF)) {
            return -1; /* not hex, or a low surrogate alone */
        }
        at += 4;
        if (code >= 0xD800 && code <= 0xDBFF) {
            if (end - at < 6 || at[0] != '\\' || at[1] != 'u') {
                return -1;
            }
            long low = hex_unit(at + 2, end);
            if (low < 0xDC00 || low > 0xDFFF) {
                return -1;
            }
            at += 6;
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        }
        ascii &= code < 0x80;
        out += put_utf8(out, code);
    }
}

static PyObject *read_string(Scanner *scanner)
{
    int is_ascii;
    Py_ssize_t length = decode_string(scanner, &is_ascii);
    if (length < 0) {
        return NULL;
    }
    return is_ascii ? short_ascii_string(scanner->buffer, length)
                    : utf8_string(scanner->buffer, length);
}

static int skip_string(Scanner *scanner)
{
    int is_ascii;
    Py_ssize_t length = decode_string(scanner, &is_ascii);
    if (length < 0) {
        return -1;
    }
    if (!is_ascii) {
        /* orjson refuses text that is not UTF-8. */
        PyObject *checked = utf8_string(scanner->buffer, length);
        if (checked == NULL) {
            return -1;
        }
        Py_DECREF(checked);
    }
    return 0;
}

/* Read a field name at the scanner (at its opening quote), and the colon
 * after it: its bytes are left in the scanner's buffer. */
static int read_name(Scanner *scanner, Py_ssize_t *length)
{
    int is_ascii;
    *length = decode_string(scanner, &is_ascii);
    if (*length < 0) {
        return -1;
    }
    if (!is_ascii) {
        PyObject *checked = utf8_string(scanner->buffer, *length);
        if (checked == NULL) {
            return -1;
        }
        Py_DECREF(checked);
    }
    skip_space(scanner);
    if (scanner->at >= scanner->end || *scanner->at != ':') {
        return -1;
    }
    scanner->at++;
    skip_space(scanner);
    return 0;
}

/* Pass over a number's token; tell whether it is an integer, whether it
 * has an exponent, and how many digits its integer part has. */
static int scan_number(Scanner *scanner, int *is_integer, int *has_exponent, int *digits)
{
    const unsigned char *at = scanner->at;
    const unsigned char *end = scanner->end;
    if (at < end && *at == '-') {
        at++;
    }
    const unsigned char *first = at;
    if (at < end && *at == '0') {
        at++;
    }
    else if (at < end && *at >= '1' && *at <= '9') {
        while (at < end && json_is_digit(*at)) {
            at++;
        }
    }
    else {
        return -1;
    }
    *digits = (int)(at - first);
    *is_integer = 1;
    *has_exponent = 0;
    if (at < end && *at == '.') {
        at++;
        if (at >= end || !json_is_digit(*at)) {
            return -1;
        }
        while (at < end && json_is_digit(*at)) {
            at++;
        }
        *is_integer = 0;
    }
    if (at < end && (*at == 'e' || *at == 'E')) {
        at++;
        if (at < end && (*at == '+' || *at == '-')) {
            at++;
        }
        if (at >= end || !json_is_digit(*at)) {
            return -1;
        }
        while (at < end && json_is_digit(*at)) {
            at++;
        }
        *is_integer = 0;
        *has_exponent = 1;
    }
    scanner->at = at;
    return 0;
}

/* The double of a number token, or -1 with *is_ok 0 when it overflows or
 * is too long. */
static double token_double(const unsigned char *start, Py_ssize_t length, int *is_ok)
{
    char text[MAX_NUMBER_LENGTH + 1];
    *is_ok = 0;
    if (length > MAX_NUMBER_LENGTH) {
        return -1.0;
    }
    memcpy(text, start, (size_t)length);
    text[length] = '\0';
    char *stop = NULL;
    double value = PyOS_string_to_double(text, &stop, NULL);
    if (value == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1.0;
    }
    if (stop != text + length || Py_IS_INFINITY(value) || Py_IS_NAN(value)) {
        return -1.0;
    }
    *is_ok = 1;
    return value;
}

static PyObject *read_number(Scanner *scanner)
{
    const unsigned char *start = scanner->at;
    int is_integer, has_exponent, digits, is_ok;
    if (scan_number(scanner, &is_integer, &has_exponent, &digits) < 0) {
        return NULL;
    }
    Py_ssize_t length = scanner->at - start;
    if (is_integer) {
        if (digits > MAX_INTEGER_DIGITS) {
            return NULL; /* orjson reads those as other types */
        }
        char text[MAX_INTEGER_DIGITS + 2];
        memcpy(text, start, (size_t)length);
        text[length] = '\0';
        return PyLong_FromLongLong(strtoll(text, NULL, 10));
    }
    double value = token_double(start, length, &is_ok);
    if (!is_ok) {
        return NULL;
    }
    return PyFloat_FromDouble(value);
}

static int skip_number(Scanner *scanner)
{
    const unsigned char *start = scanner->at;
    int is_integer, has_exponent, digits, is_ok;
    if (scan_number(scanner, &is_integer, &has_exponent, &digits) < 0) {
        return -1;
    }
    if (!has_exponent && digits <= MAX_INTEGER_DIGITS) {
        return 0; /* below 10**18: no double overflows */
    }
    /* orjson refuses a number whose double overflows. */
    token_double(start, scanner->at - start, &is_ok);
    return is_ok ? 0 : -1;
}

static int match_word(Scanner *scanner, const char *word, Py_ssize_t length)
{
    if (scanner->end - scanner->at < length ||
        memcmp(scanner->at, word, (size_t)length) != 0) {
        return -1;
    }
    scanner->at += length;
    return 0;
}

static PyObject *read_scalar(Scanner *scanner)
{
    if (scanner->at >= scanner->end) {
        return NULL;
    }
    switch (*scanner->at) {
    case '"':
        return read_string(scanner);
    case 't':
        if (match_word(scanner, "true", 4) < 0) {
            return NULL;
        }
        Py_RETURN_TRUE;
    case 'f':
        if (match_word(scanner, "false", 5) < 0) {
            return NULL;
        }
        Py_RETURN_FALSE;
    case 'n':
        if (match_word(scanner, "null", 4) < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    default:
        return read_number(scanner);
    }
}

/* After a member of an object or an array: pass over white space and a
 * comma, and return 1 (another member follows), or over the closing
 * character, and return 0; -1 for anything else. */
static int next_member(Scanner *scanner, unsigned char closing)
{
    skip_space(scanner);
    if (scanner->at >= scanner->end) {
        return -1;
    }
    unsigned char ch = *scanner->at++;
    if (ch == closing) {
        return 0;
    }
    if (ch != ',') {
        return -1;
    }
    skip_space(scanner);
    return 1;
}

static int skip_value(Scanner *scanner, int depth);

/* Pass over the members of an object or an array after its opening
 * bracket, up to and with its closing one. */
static int skip_members(Scanner *scanner, int depth, int is_object)
{
    unsigned char closing = is_object ? '}' : ']';
    skip_space(scanner);
    if (scanner->at < scanner->end && *scanner->at == closing) {
        scanner->at++;
        return 0;
    }
    while (1) {
        if (is_object) {
            if (scanner->at >= scanner->end || *scanner->at != '"') {
                return -1;
            }
            Py_ssize_t length;
            if (read_name(scanner, &length) < 0) {
                return -1;
            }
        }
        if (skip_value(scanner, depth + 1) < 0) {
            return -1;
        }
        int follows = next_member(scanner, closing);
        if (follows <= 0) {
            return follows;
        }
    }
}

static int skip_value(Scanner *scanner, int depth)
{
    if (depth > MAX_DEPTH || scanner->at >= scanner->end) {
        return -1;
    }
    switch (*scanner->at) {
    case '{':
        scanner->at++;
        return skip_members(scanner, depth, 1);
    case '[':
        scanner->at++;
        return skip_members(scanner, depth, 0);
    case '"':
        return skip_string(scanner);
    case 't':
        return match_word(scanner, "true", 4);
    case 'f':
        return match_word(scanner, "false", 5);
    case 'n':
        return match_word(scanner, "null", 4);
    default:
        return skip_number(scanner);
    }
}

static PyObject *read_value_of(Scanner *scanner, const Field *field);

/* Read an object after its opening brace into a dict of the listed fields
 * (the others passed over). With fields NULL, keep every field, each of
 * which must hold a scalar (FLAT). */
static PyObject *read_object(Scanner *scanner, const Fields *fields)
{
    PyObject *result = PyDict_New();
    if (result == NULL) {
        return NULL;
    }
    unsigned int seen = 0;
    skip_space(scanner);
    if (scanner->at < scanner->end && *scanner->at == '}') {
        scanner->at++;
        return result;
    }
    while (1) {
        if (scanner->at >= scanner->end || *scanner->at != '"') {
            goto fail;
        }
        Py_ssize_t length;
        if (read_name(scanner, &length) < 0) {
            goto fail;
        }
        const unsigned char *name = scanner->buffer;
        if (fields == NULL) {
            PyObject *key = utf8_string(name, length);
            if (key == NULL) {
                goto fail;
            }
            PyObject *value = read_scalar(scanner);
            int status = -1;
            /* A repeated name: orjson keeps the last, left to it. */
            if (value != NULL && !PyDict_Contains(result, key)) {
                status = PyDict_SetItem(result, key, value);
            }
            Py_DECREF(key);
            Py_XDECREF(value);
            if (status < 0) {
                goto fail;
            }
        }
        else {
            const Field *field = NULL;
            int index;
            for (index = 0; index < fields->count; index++) {
                const Field *candidate = &fields->fields[index];
                if (candidate->length == length &&
                    memcmp(candidate->name, name, (size_t)length) == 0) {
                    field = candidate;
                    break;
                }
            }
            if (field == NULL) {
                if (skip_value(scanner, 1) < 0) {
                    goto fail;
                }
            }
            else {
                if (field->kind == REFUSE || (seen & (1u << index))) {
                    goto fail;
                }
                seen |= 1u << index;
                PyObject *value = read_value_of(scanner, field);
                if (value == NULL) {
                    goto fail;
                }
                int status = PyDict_SetItem(result, field->key, value);
                Py_DECREF(value);
                if (status < 0) {
                    goto fail;
                }
            }
        }
        int follows = next_member(scanner, '}');
        if (follows < 0) {
            goto fail;
        }
        if (!follows) {
            return result;
        }
    }

fail:
    Py_DECREF(result);
    return NULL;
}

/* Read one {"name": str, "value": str} item after its opening brace into
 * the pair (name, value); its other fields are passed over. */
static PyObject *read_pair(Scanner *scanner)
{
    PyObject *name = NULL;
    PyObject *value = NULL;
    skip_space(scanner);
    if (scanner->at < scanner->end && *scanner->at == '}') {
        return NULL;
    }
    while (1) {
        Py_ssize_t length;
        if (scanner->at >= scanner->end || *scanner->at != '"' ||
            read_name(scanner, &length) < 0) {
            goto fail;
        }
        PyObject **slot = NULL;
        if (length == 4 && memcmp(scanner->buffer, "name", 4) == 0) {
            slot = &name;
        }
        else if (length == 5 && memcmp(scanner->buffer, "value", 5) == 0) {
            slot = &value;
        }
        if (slot == NULL) {
            if (skip_value(scanner, 1) < 0) {
                goto fail;
            }
        }
        else {
            /* Each a string, and once. */
            if (*slot != NULL || scanner->at >= scanner->end || *scanner->at != '"') {
                goto fail;
            }
            *slot = read_string(scanner);
            if (*slot == NULL) {
                goto fail;
            }
        }
        int follows = next_member(scanner, '}');
        if (follows < 0) {
            goto fail;
        }
        if (!follows) {
            break;
        }
    }
    if (name == NULL || value == NULL) {
        goto fail;
    }
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        goto fail;
    }
    PyTuple_SET_ITEM(result, 0, name);
    PyTuple_SET_ITEM(result, 1, value);
    return result;

fail:
    Py_XDECREF(name);
    Py_XDECREF(value);
    return NULL;
}

/* Read an array of name-value items after its opening bracket. */
static PyObject *read_pairs(Scanner *scanner)
{
    /* Most lists are short: gathered here, then made a tuple of. */
    PyObject *gathered[16];
    Py_ssize_t count = 0;
    PyObject *more = NULL; /* a list, past 16 */
    PyObject *result = NULL;
    skip_space(scanner);
    if (scanner->at < scanner->end && *scanner->at == ']') {
        scanner->at++;
        return PyTuple_New(0);
    }
    while (1) {
        if (scanner->at >= scanner->end || *scanner->at != '{') {
            goto done;
        }
        scanner->at++;
        PyObject *item = read_pair(scanner);
        if (item == NULL) {
            goto done;
        }
        if (count < 16) {
            gathered[count++] = item;
        }
        else {
            if (more == NULL && (more = PyList_New(0)) == NULL) {
                Py_DECREF(item);
                goto done;
            }
            int status = PyList_Append(more, item);
            Py_DECREF(item);
            if (status < 0) {
                goto done;
            }
        }
        int follows = next_member(scanner, ']');
        if (follows < 0) {
            goto done;
        }
        if (!follows) {
            break;
        }
    }
    Py_ssize_t extra = more == NULL ? 0 : PyList_GET_SIZE(more);
    result = PyTuple_New(count + extra);
    if (result != NULL) {
        for (Py_ssize_t index = 0; index < count; index++) {
            PyTuple_SET_ITEM(result, index, gathered[index]);
        }
        count = 0; /* the tuple holds them now */
        for (Py_ssize_t index = 0; index < extra; index++) {
            PyObject *item = PyList_GET_ITEM(more, index);
            Py_INCREF(item);
            PyTuple_SET_ITEM(result, 16 + index, item);
        }
    }

done:
    for (Py_ssize_t index = 0; index < count; index++) {
        Py_DECREF(gathered[index]);
    }
    Py_XDECREF(more);
    return result;
}


static PyObject *read_value_of(Scanner *scanner, const Field *field)
{
    if (scanner->at >= scanner->end) {
        return NULL;
    }
    unsigned char ch = *scanner->at;
    if (field->kind == SCALAR) {
        if (ch == '{' || ch == '[') {
            return NULL;
        }
        return read_scalar(scanner);
    }
    if (ch == 'n') {
        if (match_word(scanner, "null", 4) < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    if (field->kind == PAIRS) {
        if (ch != '[') {
            return NULL;
        }
        scanner->at++;
        return read_pairs(scanner);
    }
    if (ch != '{') {
        return NULL;
    }
    scanner->at++;
    return read_object(scanner, field->kind == OBJECT ? field->members : NULL);
}

static PyObject *scan_entry(PyObject *module, PyObject *text)
{
    if (!PyBytes_Check(text)) {
        Py_RETURN_NONE;
    }
    const unsigned char *start = (const unsigned char *)PyBytes_AS_STRING(text);
    Py_ssize_t size = PyBytes_GET_SIZE(text);
    unsigned char *buffer = PyMem_Malloc((size_t)size + 16);
    if (buffer == NULL) {
        return PyErr_NoMemory();
    }
    Scanner scanner = {start, start + size, buffer};
    skip_space(&scanner);
    PyObject *result = NULL;
    if (scanner.at < scanner.end && *scanner.at == '{') {
        scanner.at++;
        result = read_object(&scanner, &entry);
    }
    PyMem_Free(buffer);
    if (result != NULL) {
        skip_space(&scanner);
        if (scanner.at == scanner.end) {
            return result;
        }
        Py_CLEAR(result);
    }
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_MemoryError)) {
            /* Nothing but memory should fail here; leave it to orjson. */
            PyErr_Clear();
            Py_RETURN_NONE;
        }
        return NULL;
    }
    Py_RETURN_NONE;
}

static int is_ascii_letter(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* The position of the first of some characters in text[start:length], or
 * length. */
static Py_ssize_t first_of(
    const unsigned char *text, Py_ssize_t start, Py_ssize_t length, const char *chars)
{
    for (Py_ssize_t index = start; index < length; index++) {
        if (strchr(chars, text[index]) != NULL) {
            return index;
        }
    }
    return length;
}

static PyObject *part_or_none(const unsigned char *text, Py_ssize_t start, Py_ssize_t end)
{
    if (start < 0) {
        Py_RETURN_NONE;
    }
    return short_ascii_string(text + start, end - start);
}

/* witness.split_url for the URLs most traces hold: printable ASCII with no
 * space, a path or an alphanumeric scheme before "://". Gives the same
 * (scheme, host, path, query) as the Python function, or None for any other
 * URL, which the Python function then reads. */
static PyObject *split_url(PyObject *module, PyObject *url)
{
    if (!PyUnicode_Check(url) || PyUnicode_READY(url) < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (!PyUnicode_IS_ASCII(url) || PyUnicode_GET_LENGTH(url) == 0) {
        Py_RETURN_NONE;
    }
    const unsigned char *text = PyUnicode_1BYTE_DATA(url);
    Py_ssize_t length = PyUnicode_GET_LENGTH(url);
    for (Py_ssize_t index = 0; index < length; index++) {
        if (text[index] <= ' ' || text[index] >= 0x7F) {
            Py_RETURN_NONE;
        }
    }
    /* Start and end of each part; a start of -1 is a part not there. */
    Py_ssize_t scheme_end = -1, host_start = -1, host_end = -1;
    Py_ssize_t path_start = -1, path_end = -1, query_start = -1, query_end = -1;
    Py_ssize_t position = 0;
    if (text[0] != '/') {
        const char *found = strstr((const char *)text, "://");
        Py_ssize_t mark = found == NULL ? -1 : (const unsigned char *)found - text;
        if (mark <= 0 || !is_ascii_letter(text[0])) {
            Py_RETURN_NONE;
        }
        for (Py_ssize_t index = 0; index < mark; index++) {
            if (!is_ascii_letter(text[index]) && !(text[index] >= '0' && text[index] <= '9')) {
                Py_RETURN_NONE;
            }
        }
        scheme_end = mark;
        host_start = mark + 3;
        position = first_of(text, host_start, length, "/?#");
        host_end = position;
    }
    if (position < length && text[position] == '/') {
        path_start = position;
        position = path_end = first_of(text, position, length, "?#");
    }
    if (position < length && text[position] == '?') {
        query_start = position + 1;
        query_end = first_of(text, query_start, length, "#");
    }
    PyObject *parts[4] = {
        part_or_none(text, scheme_end < 0 ? -1 : 0, scheme_end),
        part_or_none(text, host_start, host_end),
        part_or_none(text, path_start, path_end),
        part_or_none(text, query_start, query_end),
    };
    PyObject *result = NULL;
    if (parts[0] != NULL && parts[1] != NULL && parts[2] != NULL && parts[3] != NULL) {
        result = PyTuple_Pack(4, parts[0], parts[1], parts[2], parts[3]);
    }
    for (int index = 0; index < 4; index++) {
        Py_XDECREF(parts[index]);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"scan_entry", scan_entry, METH_O,
     "scan_entry(text) -> dict | None: the fields of a HAR entry that "
     "parse_entry reads, or None to leave the text to orjson."},
    {"split_url", split_url, METH_O,
     "split_url(url) -> (scheme, host, path, query) | None: witness.split_url "
     "of a plain ASCII URL, or None to leave it to witness.split_url."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "_entries_c",
    "The fields of HAR entries, read from their JSON text in C "
    "(see akita_model.witness.decode_entry).",
    -1, methods,
};

static int intern_names(Field *fields, int count)
{
    for (int index = 0; index < count; index++) {
        fields[index].length = (Py_ssize_t)strlen(fields[index].name);
        fields[index].key = PyUnicode_InternFromString(fields[index].name);
        if (fields[index].key == NULL) {
            return -1;
        }
    }
    return 0;
}

PyMODINIT_FUNC PyInit__entries_c(void)
{
    if (intern_names(body_fields, 4) < 0 || intern_names(request_fields, 6) < 0 ||
        intern_names(response_fields, 3) < 0 || intern_names(entry_fields, 5) < 0) {
        return NULL;
    }
    return PyModule_Create(&module_definition);
}
