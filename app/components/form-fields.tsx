import { Checkbox, Select, TextField } from "@shopify/polaris";
import { useEffect, useState } from "react";

/**
 * Polaris inputs that also work as plain form fields: each renders a hidden input carrying its value under `name`,
 * so a Remix <Form> posts what the merchant sees, and the server validates it (errors come back per field).
 */
function useField(initial: string) {
  const [value, setValue] = useState(initial);
  useEffect(() => setValue(initial), [initial]);
  return [value, setValue] as const;
}

export function FormTextField(props: {
  name: string;
  label: string;
  initial: string;
  error?: string;
  helpText?: string;
  type?: "text" | "email" | "number" | "password" | "time";
  multiline?: number;
  placeholder?: string;
}) {
  const [value, setValue] = useField(props.initial);
  return (
    <>
      <TextField
        label={props.label}
        value={value}
        onChange={setValue}
        autoComplete="off"
        error={props.error}
        helpText={props.helpText}
        type={props.type ?? "text"}
        multiline={props.multiline}
        placeholder={props.placeholder}
      />
      <input type="hidden" name={props.name} value={value} />
    </>
  );
}

export function FormSelect(props: {
  name: string;
  label: string;
  initial: string;
  options: { label: string; value: string }[];
  error?: string;
  helpText?: string;
}) {
  const [value, setValue] = useField(props.initial);
  return (
    <>
      <Select label={props.label} options={props.options} value={value} onChange={setValue} error={props.error} helpText={props.helpText} />
      <input type="hidden" name={props.name} value={value} />
    </>
  );
}

export function FormCheckbox(props: { name: string; label: string; initial: boolean; helpText?: string }) {
  const [checked, setChecked] = useState(props.initial);
  useEffect(() => setChecked(props.initial), [props.initial]);
  return (
    <>
      <Checkbox label={props.label} checked={checked} onChange={setChecked} helpText={props.helpText} />
      <input type="hidden" name={props.name} value={checked ? "true" : "false"} />
    </>
  );
}
