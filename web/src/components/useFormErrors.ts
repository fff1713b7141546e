import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import { splitFieldErrors, toDisplayError, type ApiError, type FieldErrors } from '../api/errors';

export interface FormErrors {
  /** Messages per form field, from the client's checks or the API's field errors. */
  fields: Record<string, string[]>;
  /** The message for the whole form, with any field errors that belong to no visible field. */
  message: string | null;
  details: string[];
  error: ApiError | null;
  /** Put on the <form>: after a failed submit, the first field with an error gets the focus. */
  formRef: RefObject<HTMLFormElement | null>;
  setClientErrors(errors: FieldErrors): void;
  setError(error: unknown): ApiError;
  clear(): void;
}

/** The error state of a form whose inputs are named `fields`. */
export function useFormErrors(fields: readonly string[], itemLabels?: Record<string, string>): FormErrors {
  const [state, setState] = useState<{ fields: Record<string, string[]>; message: string | null; details: string[]; error: ApiError | null }>({
    fields: {},
    message: null,
    details: [],
    error: null,
  });

  const setClientErrors = useCallback((errors: FieldErrors) => {
    setState({ fields: errors, message: Object.keys(errors).length ? 'Some fields need attention.' : null, details: [], error: null });
  }, []);

  const names = useRef({ fields, itemLabels });
  names.current = { fields, itemLabels };

  const setError = useCallback((thrown: unknown) => {
    const error = toDisplayError(thrown);
    const { byField, other } = splitFieldErrors(error.fieldErrors, names.current.fields, names.current.itemLabels);
    setState({ fields: byField, message: error.message, details: other, error });
    return error;
  }, []);

  const clear = useCallback(() => setState({ fields: {}, message: null, details: [], error: null }), []);

  const formRef = useRef<HTMLFormElement | null>(null);
  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [state.fields]);

  return { ...state, formRef, setClientErrors, setError, clear };
}
