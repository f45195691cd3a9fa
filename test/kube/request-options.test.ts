import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { describeKubeError, errorLabel, httpStatus } from '../../src/kube/request-options.ts';

test('a client-node error becomes one line with the status and the API server\'s message', () => {
  const body = JSON.stringify({ kind: 'Status', message: 'pods "p" is forbidden: no', code: 403 });
  const err = new ApiException(403, 'HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: …\nHeaders: {…}', body, {});
  assert.equal(httpStatus(err), 403);
  assert.equal(describeKubeError(err), 'HTTP 403: pods "p" is forbidden: no');
});

test('a 404 page (not JSON) and a network error are described without header dumps', () => {
  assert.equal(describeKubeError(new ApiException(404, 'x', '404 page not found\n', {})), 'HTTP 404: 404 page not found');
  assert.equal(describeKubeError(new TypeError('fetch failed\n    at somewhere')), 'fetch failed');
  assert.equal(httpStatus(new TypeError('fetch failed')), undefined);
});

// Issue 11, defect 8: an AbortSignal.timeout() rejection is a DOMException whose legacy `code`
// is 23 (TIMEOUT_ERR); it must not read as an HTTP status in metrics or logs.
test('an API call that timed out has no HTTP status: labelled "timeout", not 23', () => {
  const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  assert.equal(httpStatus(timeout), undefined);
  assert.equal(errorLabel(timeout), 'timeout');
  assert.doesNotMatch(describeKubeError(timeout), /HTTP 23/);
  assert.equal(errorLabel(new ApiException(429, 'x', '', {})), '429');
  assert.equal(errorLabel(new TypeError('fetch failed')), '0');
});
