// SPDX-License-Identifier: Apache-2.0
print("ws: not yet implemented")
