import React from "react";

export function Signup({ steps, current, values, update, send }: SignupProps) {
  const title = steps.length === 1 ? "One step" : `${steps.length} steps`;
  return (
    <main>
      <h1>{title}</h1>
      <form
        id="signup-form"
        noValidate
        action={send}
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
        <button type="submit">Send it</button>
      </form>
    </main>
  );
}
