// SPDX-License-Identifier: Apache-2.0
#if !WS_PTHREAD_LOCK
import Synchronization

/// The lock guarding state shared between a loop thread and application tasks: the standard
/// library's `Mutex`. (Builds with `-DWS_PTHREAD_LOCK` swap in a pthread mutex that
/// ThreadSanitizer can see; see Platform/PthreadLock.swift.)
typealias Lock<Value: ~Copyable> = Mutex<Value>
#endif
