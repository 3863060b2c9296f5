/*
 * Byte helpers that both C extensions use on JSON text: hex digits, the
 * four digits of a \uXXXX escape, and the FNV-1a hash that picks a slot of
 * their small caches. Static inline: each extension gets its own copy.
 */
#ifndef AKITA_JSON_BYTES_H
#define AKITA_JSON_BYTES_H

#include <stdint.h>

static inline int json_is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

static inline int json_hex_digit(unsigned char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* The code unit of the four hex digits at text, or -1. */
static inline long json_hex4(const unsigned char *text)
{
    long unit = 0;
    for (int index = 0; index < 4; index++) {
        int digit = json_hex_digit(text[index]);
        if (digit < 0) {
            return -1;
        }
        unit = unit * 16 + digit;
    }
    return unit;
}

/* FNV-1a over the bytes, folded: the slot of a cache of `slots` entries
 * (a power of two). */
static inline size_t json_slot(const unsigned char *text, Py_ssize_t length, size_t slots)
{
    uint32_t hash = 2166136261u;
    for (Py_ssize_t index = 0; index < length; index++) {
        hash = (hash ^ text[index]) * 16777619u;
    }
    return (size_t)(hash ^ (hash >> 16)) & (slots - 1);
}

#endif
