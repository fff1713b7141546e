import { limits } from '../validation';
import { Field } from './Field';

/**
 * A new password and its repetition, with the length hint: the pair that registering, resetting and
 * changing a password share. `name` is the API's field (`password`, `newPassword`); the repetition is
 * always `confirm`.
 */
export function NewPasswordFields({
  name,
  label,
  value,
  onChange,
  confirm,
  onConfirmChange,
  errors,
  required = true,
}: {
  name: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  confirm: string;
  onConfirmChange: (value: string) => void;
  errors: Record<string, string[] | undefined>;
  required?: boolean;
}) {
  return (
    <>
      <Field
        label={label}
        name={name}
        errors={errors[name]}
        hint={`${limits.passwordMin} to ${limits.passwordMax} characters. A few unrelated words make a strong one.`}
      >
        {(control) => (
          <input
            {...control}
            type="password"
            autoComplete="new-password"
            value={value}
            onChange={(e) => onChange(e.target.value)}
            required={required}
          />
        )}
      </Field>
      <Field label={`Repeat the ${label.toLowerCase()}`} name="confirm" errors={errors.confirm}>
        {(control) => (
          <input
            {...control}
            type="password"
            autoComplete="new-password"
            value={confirm}
            onChange={(e) => onConfirmChange(e.target.value)}
            required={required}
          />
        )}
      </Field>
    </>
  );
}
