import React, { useState } from "react";

type Field = { name: string; label: string };
type Step = { id: string; title: string; fields: Field[] };

export function Wizard({ steps, onFinish }: { steps: Step[]; onFinish: (v: Record<string, string>) => void }) {
  const [current, setCurrent] = useState(0);
  const [values, setValues] = useState<Record<string, string>>({});
  const update = (event: React.ChangeEvent<HTMLInputElement>) =>
    setValues({ ...values, [event.target.name]: event.target.value });
  const handleSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    if (current + 1 < steps.length) setCurrent(current + 1);
    else onFinish(values);
  };
  return (
    <div className="wizard-shell">
      <form
        className="wizard"
        onSubmit={handleSubmit}
      >
        {steps.map((step, index) => (
          <fieldset key={step.id} disabled={index > current} className={index === current ? "step current" : "step"}>
            <legend>{step.title}</legend>
            {step.fields.map((field) => (
              <label key={field.name} className="wizard-field">
                {field.label}
                <input name={field.name} defaultValue={values[field.name] ?? ""} onChange={update} />
              </label>
            ))}
          </fieldset>
        ))}
      </form>
    </div>
  );
}
