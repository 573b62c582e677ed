import type { ActivationOptions, ActivationRequest, IdentityQuery, LookupResult, Registry } from '../../src/services/types';

/** The registry of the sample people, where a person can get registered meanwhile (the CNSS did its work). */
export class RegistryThatRegisters implements Registry {
  private readonly registered = new Set<string>();
  constructor(private readonly inner: Registry) {}
  register(idNumber: string): void {
    this.registered.add(idNumber);
  }
  async lookUp(query: IdentityQuery): Promise<LookupResult> {
    if (this.registered.has(query.idNumber)) return { kind: 'registered', hasAccount: false, registrationNumber: '222333999' };
    return this.inner.lookUp(query);
  }
  activateAccount(request: ActivationRequest, options?: ActivationOptions) {
    return this.inner.activateAccount(request, options);
  }
  lookUpAccountPhone(...args: Parameters<Registry['lookUpAccountPhone']>) {
    return this.inner.lookUpAccountPhone(...args);
  }
  resetPassword(...args: Parameters<Registry['resetPassword']>) {
    return this.inner.resetPassword(...args);
  }
  isReady() {
    return this.inner.isReady();
  }
}
