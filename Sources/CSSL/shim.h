// SPDX-License-Identifier: Apache-2.0
// The system OpenSSL (libssl, libcrypto), for WSTLS. The calls below are macros (or
// type-generic stack helpers) Swift cannot call, so they are wrapped in functions here.
#ifndef CSSL_SHIM_H
#define CSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/bio.h>

static inline int cssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int cssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long cssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline int cssl_ctx_add1_chain_cert(SSL_CTX *ctx, X509 *cert) { return (int)SSL_CTX_add1_chain_cert(ctx, cert); }
static inline int cssl_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
static inline void cssl_bio_set_mem_eof_return(BIO *bio, int value) { (void)BIO_set_mem_eof_return(bio, value); }
static inline long cssl_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
static inline int cssl_bio_reset(BIO *bio) { return (int)BIO_reset(bio); }
static inline void cssl_bio_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }
static inline void cssl_bio_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }
static inline int cssl_stack_x509_count(STACK_OF(X509) *stack) { return stack ? sk_X509_num(stack) : 0; }
static inline X509 *cssl_stack_x509_at(STACK_OF(X509) *stack, int i) { return sk_X509_value(stack, i); }
static inline void cssl_stack_x509_free_all(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }
static inline void cssl_free(void *p) { OPENSSL_free(p); }
static inline unsigned long cssl_xn_flag_rfc2253(void) { return XN_FLAG_RFC2253; }
static inline uint64_t cssl_op_no_renegotiation(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t cssl_op_no_compression(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t cssl_op_cipher_server_preference(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline uint64_t cssl_op_no_ticket(void) { return SSL_OP_NO_TICKET; }
static inline long cssl_ctx_set_session_cache_off(SSL_CTX *ctx) { return SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); }
#endif
